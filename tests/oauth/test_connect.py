"""Connecting an account: the start endpoint, the provider's callback, who may do it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from postroom.db.base import utcnow
from postroom.db.models import OAuthFlow
from postroom.enums import AuthMethod, OAuthProvider, Role
from postroom.services import accounts, oauth
from postroom.services.account_schemas import AccountCreate
from tests.fixtures.mailenv import MailEnv
from tests.fixtures.oauth_server import FakeOAuthServer
from tests.oauth.helpers import connect, consent, mail_account, start, stored_account
from tests.support import Tenant


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_connect_stores_tokens_encrypted_and_switches_to_xoauth2(
    client: TestClient,
    tenant: Tenant,
    mailenv: MailEnv,
    oauth_mailbox: str,
    oauth_server: FakeOAuthServer,
) -> None:
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    started = start(client, tenant.admin, account_id, provider="google")
    assert started.status_code == 200, started.text
    request = _query(started.json()["authorization_url"])
    assert request["code_challenge_method"] == "S256"
    assert request["redirect_uri"] == "http://testserver/api/v1/oauth/callback"
    assert request["login_hint"] == oauth_mailbox

    callback = client.get(consent(started.json()["authorization_url"]), follow_redirects=False)

    assert callback.status_code == 303
    assert callback.headers["location"] == (
        f"http://testserver/accounts/{account_id}?oauth=connected"
    )
    shown = client.get(f"/api/v1/accounts/{account_id}", headers=tenant.admin.headers).json()
    assert shown["oauth_connected"] is True
    assert shown["oauth_provider"] == "google"
    assert (shown["smtp_auth"], shown["incoming_auth"]) == ("oauth2", "oauth2")
    assert shown["needs_attention"] is False
    account = stored_account(tenant.runtime, tenant.company_id, account_id)
    box = tenant.runtime.secret_box
    assert account.oauth_refresh_token_encrypted is not None
    assert account.oauth_access_token_encrypted is not None
    refresh = box.decrypt(account.oauth_refresh_token_encrypted).reveal()
    access = box.decrypt(account.oauth_access_token_encrypted).reveal()
    assert {refresh, access} <= set(oauth_server.issued_tokens())
    assert refresh not in account.oauth_refresh_token_encrypted  # ciphertext, not the token
    assert account.oauth_expires_at is not None
    assert timedelta(minutes=59) < account.oauth_expires_at - utcnow() <= timedelta(hours=1)


def test_connection_is_in_the_history_without_tokens(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, oauth_mailbox: str
) -> None:
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    assert connect(client, tenant.admin, account_id).status_code == 303
    history = client.get(
        f"/api/v1/accounts/{account_id}/history", headers=tenant.admin.headers
    ).json()
    latest = history["items"][0]
    assert latest["actor_label"] == tenant.admin.email
    assert {"field": "oauth_connection", "secret": True, "change": "set"} in latest["changes"]
    assert {"field": "smtp_auth", "old": "password", "new": "oauth2"} in latest["changes"]


def test_only_chosen_logins_switch_to_xoauth2(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, oauth_mailbox: str
) -> None:
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    connect(client, tenant.admin, account_id, use_for_incoming=False)
    shown = client.get(f"/api/v1/accounts/{account_id}", headers=tenant.admin.headers).json()
    assert (shown["smtp_auth"], shown["incoming_auth"]) == ("oauth2", "password")


def test_declined_consent_leaves_the_account_unconnected(
    client: TestClient,
    tenant: Tenant,
    mailenv: MailEnv,
    oauth_server: FakeOAuthServer,
    oauth_mailbox: str,
) -> None:
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    oauth_server.configure(deny_consent=True)
    callback = connect(client, tenant.admin, account_id)
    assert callback.status_code == 303
    assert _query(callback.headers["location"]) == {
        "oauth": "failed",
        "oauth_error": "access_denied",
    }
    shown = client.get(f"/api/v1/accounts/{account_id}", headers=tenant.admin.headers).json()
    assert shown["oauth_connected"] is False
    assert shown["smtp_auth"] == "password"
    assert oauth_server.token_requests() == []


def test_callback_state_works_once(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, oauth_mailbox: str
) -> None:
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    started = start(client, tenant.admin, account_id, provider="google")
    callback_url = consent(started.json()["authorization_url"])
    assert client.get(callback_url, follow_redirects=False).status_code == 303
    replay = client.get(callback_url, follow_redirects=False)
    assert replay.status_code == 400
    assert "already used or has expired" in replay.text
    assert replay.headers["content-type"].startswith("text/html")


def test_unknown_state_is_refused_and_nothing_is_exchanged(
    client: TestClient, oauth_server: FakeOAuthServer
) -> None:
    answer = client.get("/api/v1/oauth/callback?code=abc&state=forged", follow_redirects=False)
    assert answer.status_code == 400
    assert "unknown" in answer.text
    assert oauth_server.token_requests() == []


def test_expired_sign_in_is_refused(
    client: TestClient,
    tenant: Tenant,
    mailenv: MailEnv,
    oauth_server: FakeOAuthServer,
    oauth_mailbox: str,
) -> None:
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    started = start(client, tenant.admin, account_id, provider="google")
    callback_url = consent(started.json()["authorization_url"])
    with tenant.runtime.tenant(tenant.company_id) as session:
        flow = session.scalars(select(OAuthFlow)).one()
        flow.expires_at = utcnow() - timedelta(seconds=1)
    assert client.get(callback_url, follow_redirects=False).status_code == 400
    assert oauth_server.token_requests() == []
    with tenant.runtime.tenant(tenant.company_id) as session:
        assert session.scalar(select(func.count()).select_from(OAuthFlow)) == 0


def test_flow_row_keeps_only_a_hash_of_state_and_an_encrypted_verifier(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, oauth_mailbox: str
) -> None:
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    url = start(client, tenant.admin, account_id, provider="google").json()["authorization_url"]
    state = _query(url)["state"]
    with tenant.runtime.tenant(tenant.company_id) as session:
        flow = session.scalars(select(OAuthFlow)).one()
    assert flow.state_hash == oauth.state_hash(state) != state
    verifier = tenant.runtime.secret_box.decrypt(flow.code_verifier_encrypted).reveal()
    assert verifier not in flow.code_verifier_encrypted
    assert flow.user_id == tenant.admin.id
    assert flow.provider is OAuthProvider.GOOGLE


def test_user_who_may_use_but_not_edit_cannot_start(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, oauth_mailbox: str
) -> None:
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)  # everyone
    user = tenant.add_user(Role.USER)
    answer = start(client, user, account_id, provider="google")
    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"


def test_owner_may_connect_a_personal_account(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, oauth_mailbox: str
) -> None:
    user = tenant.add_user(Role.USER)
    account_id = mail_account(client, user, mailenv, oauth_mailbox, owner_user_id=user.id)
    assert connect(client, user, account_id).status_code == 303


def test_another_companys_token_gets_404(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, mailenv: MailEnv, oauth_mailbox: str
) -> None:
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    answer = start(client, other_tenant.admin, account_id, provider="google")
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
    with tenant.runtime.tenant(tenant.company_id) as session:
        assert session.scalar(select(func.count()).select_from(OAuthFlow)) == 0


def test_unconfigured_provider_is_refused(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, oauth_mailbox: str
) -> None:
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    answer = start(client, tenant.admin, account_id, provider="microsoft")
    assert answer.status_code == 422
    assert answer.json()["errors"][0] == {
        "field": "provider",
        "message": "Signing in with Microsoft is not configured on this server.",
        "code": "oauth_not_configured",
    }


def test_provider_is_guessed_from_the_server_names(
    client: TestClient, tenant: Tenant, oauth_server: FakeOAuthServer
) -> None:
    # Saved directly: these hosts exist only by name, so no connection test could pass.
    gmail = _saved(tenant, "ala@gmail.com", "smtp.gmail.com")
    other = _saved(tenant, "ola@poczta.example", "smtp.poczta.example")
    guessed = start(client, tenant.admin, gmail)
    assert guessed.status_code == 200
    assert guessed.json()["authorization_url"].startswith(oauth_server.authorize_url + "?")
    unknown = start(client, tenant.admin, other)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["code"] == "required"


def _saved(tenant: Tenant, address: str, smtp_host: str) -> int:
    data = AccountCreate(email_address=address, smtp_host=smtp_host, smtp_auth=AuthMethod.OAUTH2)
    with tenant.runtime.tenant(tenant.company_id) as session:
        account = accounts.create_account(
            session,
            actor=None,
            data=data,
            box=tenant.runtime.secret_box,
            company_id=tenant.company_id,
        )
        return account.id
