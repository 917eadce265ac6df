"""XOAUTH2 logins to the real Dovecot/Postfix with tokens Postroom got, refreshed and refused."""

from __future__ import annotations

import asyncio
import imaplib
import logging
import smtplib
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from postroom.db.base import utcnow
from postroom.enums import AuthMethod
from postroom.mail.oauth import OAuthNetworkError
from postroom.services.oauth_tokens import (
    OAuthNotConnectedError,
    OAuthReconnectError,
    get_access_token,
    xoauth2_credentials,
)
from tests.fixtures.mailenv import MailEnv
from tests.fixtures.oauth_server import FakeOAuthServer
from tests.oauth.helpers import (
    access_token,
    connect,
    imap_login,
    mail_account,
    pop3_login,
    smtp_login,
    stored_account,
)
from tests.support import OAUTH_CLIENT_SECRET, Tenant

LATER = timedelta(hours=2)  # "now" after every token issued so far has expired


@pytest.fixture
def account_id(client: TestClient, tenant: Tenant, mailenv: MailEnv, oauth_mailbox: str) -> int:
    """An account on the local servers, connected through the whole sign-in."""
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    assert connect(client, tenant.admin, account_id).status_code == 303
    return account_id


def test_token_from_the_sign_in_logs_in_to_imap_smtp_and_pop3(
    tenant: Tenant, account_id: int, mailenv: MailEnv, oauth_mailbox: str
) -> None:
    token = access_token(tenant, account_id)
    imap_login(mailenv, oauth_mailbox, token)
    smtp_login(mailenv, oauth_mailbox, token)
    pop3_login(mailenv, oauth_mailbox, token)


def test_dovecot_refuses_a_token_for_another_mailbox(
    tenant: Tenant, account_id: int, mailenv: MailEnv
) -> None:
    token = access_token(tenant, account_id)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        imap_login(mailenv, "alice@example.test", token)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        smtp_login(mailenv, "alice@example.test", token)


def test_credentials_for_adapters(tenant: Tenant, account_id: int, oauth_mailbox: str) -> None:
    credentials = asyncio.run(
        xoauth2_credentials(
            tenant.runtime, company_id=tenant.company_id, account_id=account_id, incoming=True
        )
    )
    assert credentials.method is AuthMethod.OAUTH2
    assert credentials.username == oauth_mailbox
    assert credentials.secret is not None
    assert credentials.secret.reveal() not in repr(credentials)


def test_fresh_token_is_reused_without_asking_the_provider(
    tenant: Tenant, account_id: int, oauth_server: FakeOAuthServer
) -> None:
    first, second = access_token(tenant, account_id), access_token(tenant, account_id)
    assert first == second
    assert oauth_server.token_requests() == ["authorization_code"]


def test_token_near_expiry_is_refreshed_ahead(
    tenant: Tenant, account_id: int, oauth_server: FakeOAuthServer
) -> None:
    first = access_token(tenant, account_id)
    expires_at = stored_account(tenant.runtime, tenant.company_id, account_id).oauth_expires_at
    assert expires_at is not None
    # Four minutes left is inside the five-minute margin: refreshed although still valid.
    ahead = access_token(tenant, account_id, now=expires_at - timedelta(minutes=4))
    assert ahead != first
    assert oauth_server.token_requests() == ["authorization_code", "refresh_token"]


def test_expired_token_is_refreshed_and_the_rotated_refresh_token_kept(
    client: TestClient,
    tenant: Tenant,
    mailenv: MailEnv,
    oauth_mailbox: str,
    oauth_server: FakeOAuthServer,
) -> None:
    oauth_server.configure(access_lifetime=2)  # short-lived tokens, as real providers' expire
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    assert connect(client, tenant.admin, account_id).status_code == 303
    box = tenant.runtime.secret_box
    refresh_before = stored_account(tenant.runtime, tenant.company_id, account_id)
    assert refresh_before.oauth_refresh_token_encrypted is not None
    old_refresh = box.decrypt(refresh_before.oauth_refresh_token_encrypted).reveal()
    expired = access_token(tenant, account_id, margin=timedelta(0))  # the one from the sign-in
    imap_login(mailenv, oauth_mailbox, expired)
    time.sleep(2.5)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        imap_login(mailenv, oauth_mailbox, expired)  # Dovecot: the token is no longer active

    oauth_server.configure(access_lifetime=3600)
    fresh = access_token(tenant, account_id)

    assert fresh != expired
    imap_login(mailenv, oauth_mailbox, fresh)
    smtp_login(mailenv, oauth_mailbox, fresh)
    after = stored_account(tenant.runtime, tenant.company_id, account_id)
    assert after.oauth_refresh_token_encrypted is not None
    assert box.decrypt(after.oauth_refresh_token_encrypted).reveal() != old_refresh
    # The rotated refresh token was stored: a later refresh (the old one is void) still works.
    later = access_token(tenant, account_id, now=utcnow() + LATER)
    imap_login(mailenv, oauth_mailbox, later)
    assert oauth_server.token_requests() == [
        "authorization_code",
        "refresh_token",
        "refresh_token",
    ]


def test_parallel_callers_refresh_once(
    tenant: Tenant, account_id: int, oauth_server: FakeOAuthServer
) -> None:
    async def two_at_once() -> list[str]:
        calls = [
            get_access_token(
                tenant.runtime,
                company_id=tenant.company_id,
                account_id=account_id,
                now=utcnow() + LATER,
            )
            for _ in range(2)
        ]
        return [token.reveal() for token in await asyncio.gather(*calls)]

    first, second = asyncio.run(two_at_once())
    assert first == second
    assert oauth_server.token_requests() == ["authorization_code", "refresh_token"]
    assert not stored_account(tenant.runtime, tenant.company_id, account_id).needs_attention


def test_refused_refresh_asks_for_reconnect_and_the_api_shows_it(
    client: TestClient,
    tenant: Tenant,
    account_id: int,
    oauth_mailbox: str,
    oauth_server: FakeOAuthServer,
) -> None:
    oauth_server.revoke_refresh_tokens(oauth_mailbox)  # e.g. the user removed the app's access
    with pytest.raises(OAuthReconnectError) as caught:
        access_token(tenant, account_id, now=utcnow() + LATER)
    assert "sign in again" in caught.value.message

    shown = client.get(f"/api/v1/accounts/{account_id}", headers=tenant.admin.headers).json()
    assert shown["needs_attention"] is True
    assert shown["attention_reason"] == "oauth_reconnect"
    assert shown["oauth_connected"] is False
    assert "invalid_grant: Token has been expired or revoked." in shown["last_error"]
    assert shown["last_error_at"] is not None
    # Not asked again with a grant it already refused.
    requests = oauth_server.token_requests()
    with pytest.raises(OAuthReconnectError):
        access_token(tenant, account_id, now=utcnow() + LATER)
    assert oauth_server.token_requests() == requests


def test_signing_in_again_ends_the_reconnect_state(
    client: TestClient,
    tenant: Tenant,
    account_id: int,
    mailenv: MailEnv,
    oauth_mailbox: str,
    oauth_server: FakeOAuthServer,
) -> None:
    oauth_server.revoke_refresh_tokens(oauth_mailbox)
    with pytest.raises(OAuthReconnectError):
        access_token(tenant, account_id, now=utcnow() + LATER)

    assert connect(client, tenant.admin, account_id).status_code == 303

    shown = client.get(f"/api/v1/accounts/{account_id}", headers=tenant.admin.headers).json()
    assert (shown["needs_attention"], shown["attention_reason"]) == (False, None)
    assert shown["oauth_connected"] is True
    imap_login(mailenv, oauth_mailbox, access_token(tenant, account_id, now=utcnow() + LATER))


def test_unreachable_provider_keeps_the_current_token_while_it_lasts(
    tenant: Tenant, account_id: int, oauth_server: FakeOAuthServer
) -> None:
    current = access_token(tenant, account_id)
    expires_at = stored_account(tenant.runtime, tenant.company_id, account_id).oauth_expires_at
    assert expires_at is not None
    oauth_server.answer_next_token_request(503, b"maintenance")
    assert access_token(tenant, account_id, now=expires_at - timedelta(minutes=1)) == current
    oauth_server.answer_next_token_request(503, b"maintenance")
    with pytest.raises(OAuthNetworkError):
        access_token(tenant, account_id, now=expires_at + timedelta(seconds=1))
    # A temporary failure is not a reason to ask the user to sign in again.
    assert not stored_account(tenant.runtime, tenant.company_id, account_id).needs_attention


def test_account_without_connection_has_no_token(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, oauth_mailbox: str
) -> None:
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    with pytest.raises(OAuthNotConnectedError) as caught:
        access_token(tenant, account_id)
    assert not isinstance(caught.value, OAuthReconnectError)


def test_tokens_never_appear_in_responses_or_logs(
    client: TestClient,
    tenant: Tenant,
    mailenv: MailEnv,
    oauth_mailbox: str,
    oauth_server: FakeOAuthServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    callback = connect(client, tenant.admin, account_id)
    token = access_token(tenant, account_id, now=utcnow() + LATER)
    oauth_server.revoke_refresh_tokens(oauth_mailbox)
    with pytest.raises(OAuthReconnectError):
        access_token(tenant, account_id, now=utcnow() + 2 * LATER)
    responses = [
        callback.text,
        str(callback.headers),
        client.get(f"/api/v1/accounts/{account_id}", headers=tenant.admin.headers).text,
        client.get("/api/v1/accounts", headers=tenant.admin.headers).text,
        client.get(f"/api/v1/accounts/{account_id}/history", headers=tenant.admin.headers).text,
    ]
    secrets = [*oauth_server.issued_tokens(), token, OAUTH_CLIENT_SECRET]
    logged = [str(record.__dict__) for record in caplog.records]
    assert any("oauth account connected" in line for line in logged)  # the log was captured
    for secret in secrets:
        for text in responses + logged:
            assert secret not in text
