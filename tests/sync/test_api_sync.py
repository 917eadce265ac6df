"""POST /accounts/{id}/fetch and GET /accounts/{id}/sync: requests, refusals, state, progress,
the server's words after a failure, and who may see it."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from postroom.enums import IncomingProtocol, Role
from postroom.services.runtime import Runtime
from tests.api.helpers import create_account, imap_settings
from tests.fixtures.mailenv import MailEnv
from tests.support import INCOMING_PASSWORD, MAILBOX_PASSWORD, Tenant
from tests.sync.support import append, fetch, make_account, messages, new_mailbox, other_client


def _sync(client: TestClient, tenant: Tenant, account_id: int) -> dict[str, object]:
    response = client.get(f"/api/v1/accounts/{account_id}/sync", headers=tenant.admin.headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_fetch_now_is_queued_then_the_state_shows_the_finished_fetch(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    account = create_account(client, tenant.admin, mailenv, **imap_settings(mailenv))
    address = account["email_address"]
    with other_client(mailenv, address, MAILBOX_PASSWORD) as imap:
        append(imap, "INBOX", messages(3, start=200, to=address))
    assert _sync(client, tenant, account["id"])["phase"] == "idle"

    response = client.post(f"/api/v1/accounts/{account['id']}/fetch", headers=tenant.admin.headers)

    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["phase"] == "queued" and queued["running"] is False
    assert queued["fetch_requested_at"] is not None
    fetch(runtime, tenant.company_id, account["id"])  # what the worker does next
    done = _sync(client, tenant, account["id"])
    assert done["phase"] == "idle" and done["fetch_requested_at"] is None
    assert isinstance(done["last_new_messages"], int) and done["last_new_messages"] >= 3
    assert done["first_import_done_at"] is not None and done["idle_push"] is True
    assert done["last_success_at"] is not None and done["next_fetch_at"] is not None
    finished = datetime.fromisoformat(str(done["last_fetch_finished_at"]))
    assert finished >= datetime.fromisoformat(str(done["last_fetch_started_at"]))
    assert MAILBOX_PASSWORD not in str(done)


def test_a_failed_fetch_shows_the_servers_words_and_backs_off(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    account_id = make_account(
        runtime, tenant.company_id, mailenv, address, password="zle-haslo-0000"
    )

    result = fetch(runtime, tenant.company_id, account_id)

    assert result.ran and result.error is not None
    state = _sync(client, tenant, account_id)
    assert state["phase"] == "failed"
    assert "Authentication failed" in str(state["last_error"])  # Dovecot's own words
    assert datetime.fromisoformat(str(state["next_fetch_at"])) > datetime.fromisoformat(
        str(state["last_fetch_finished_at"])
    )
    assert "zle-haslo-0000" not in str(state) and INCOMING_PASSWORD not in str(state)


def test_accounts_that_are_not_fetched_say_why(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    smtp_only = create_account(client, tenant.admin, mailenv)
    inactive = make_account(runtime, tenant.company_id, mailenv, new_mailbox(mailenv), active=False)
    for account_id, code in (
        (smtp_only["id"], "no_incoming_server"),
        (inactive, "account_inactive"),
    ):
        response = client.post(f"/api/v1/accounts/{account_id}/fetch", headers=tenant.admin.headers)
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code


def test_users_who_may_not_see_an_account_get_404(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    account_id = make_account(
        runtime,
        tenant.company_id,
        mailenv,
        new_mailbox(mailenv),
        protocol=IncomingProtocol.IMAP,
        access_mode="listed",
    )
    outsider = tenant.add_user(Role.USER)
    for method, path in (("POST", "fetch"), ("GET", "sync")):
        response = client.request(
            method, f"/api/v1/accounts/{account_id}/{path}", headers=outsider.headers
        )
        assert response.status_code == 404, response.text
    # "See others' accounts" (E2) covers personal accounts, not a company account kept to a list.
    reader = tenant.add_user(Role.USER, can_see_others_accounts=True)
    response = client.get(f"/api/v1/accounts/{account_id}/sync", headers=reader.headers)
    assert response.status_code == 404
