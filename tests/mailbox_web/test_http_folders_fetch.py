"""The mail pages' folder edits and "fetch now" over HTTP against the real Dovecot: the server
side changes, refusals in the API's words, the fetch state live, other companies' ids 404."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from postroom.db.base import utcnow
from postroom.db.models_mailbox import MailSyncState
from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.mailbox.conftest import Mailbox
from tests.mailbox.support import messages_of, server_folders
from tests.mailbox_web.support import done_of, login, post, text_of
from tests.support import Tenant
from tests.sync.support import fetch, make_account, new_mailbox

API = "/api/v1"
HTMX = {"HX-Request": "true"}


def test_folders_are_created_renamed_and_deleted_on_the_server(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv, imap_mailbox: Mailbox
) -> None:
    account, inbox = imap_mailbox.account_id, imap_mailbox.folders["INBOX"]
    csrf = login(client, tenant.admin)
    page = client.get(f"/mail?folder={inbox}").text
    assert f'action="/mail/folders/{inbox}/rename"' not in page  # Inbox stays as it is
    assert "Folderów Odebrane, Wysłane, Szkice i Kosz nie można" in text_of(page)

    created = post(client, f"/mail/accounts/{account}/folders", csrf, name="Faktury 2026")
    query = done_of(created)
    assert query["done"] == ["folder_created"]
    folder = int(query["folder"][0])
    assert "Faktury 2026" in server_folders(mailenv, imap_mailbox.address)
    shown = client.get(created.headers["location"]).text
    assert "Folder utworzony" in text_of(shown)
    assert f'action="/mail/folders/{folder}/rename"' in shown

    again = post(client, f"/mail/accounts/{account}/folders", csrf, name="Faktury 2026")
    assert again.status_code == 409
    api = client.post(
        f"{API}/accounts/{account}/folders",
        json={"name": "Faktury 2026"},
        headers=tenant.admin.headers,
    )
    assert api.status_code == 409 and api.json()["detail"] in text_of(again.text)
    assert "Nie utworzono folderu." in text_of(again.text)
    starred = post(client, f"/mail/accounts/{account}/folders", csrf, name="Zły*folder")
    assert starred.status_code == 422
    assert "A folder name cannot hold “%” or “*”." in text_of(starred.text)
    empty = post(client, f"/mail/accounts/{account}/folders", csrf, name="  ")
    assert empty.status_code == 422 and "A folder needs a name." in text_of(empty.text)

    renamed = post(client, f"/mail/folders/{folder}/rename", csrf, name="Faktury archiwum")
    assert done_of(renamed) == {"folder": [str(folder)], "done": ["folder_renamed"]}
    names = server_folders(mailenv, imap_mailbox.address)
    assert "Faktury archiwum" in names and "Faktury 2026" not in names

    # Not empty: refused with the service's sentence; the folder stays on the server.
    first = next(m.id for m in messages_of(runtime, tenant.company_id, account))
    moved = client.post(
        f"{API}/mail/{first}/move", json={"folder_id": folder}, headers=tenant.admin.headers
    )
    assert moved.is_success
    full = post(client, f"/mail/folders/{folder}/delete", csrf)
    assert full.status_code == 409
    assert "“Faktury archiwum” holds 1 message(s); move them to another folder" in text_of(
        full.text
    )
    assert "Faktury archiwum" in server_folders(mailenv, imap_mailbox.address)
    special = post(client, f"/mail/folders/{inbox}/delete", csrf)
    assert special.status_code == 409
    assert "is the account's inbox folder; it cannot be deleted." in text_of(special.text)
    back = client.post(
        f"{API}/mail/{first}/move", json={"folder_id": inbox}, headers=tenant.admin.headers
    )
    assert back.is_success

    deleted = post(client, f"/mail/folders/{folder}/delete", csrf)
    assert done_of(deleted) == {"done": ["folder_deleted"]}
    assert "Faktury archiwum" not in server_folders(mailenv, imap_mailbox.address)
    assert "Folder usunięty" in text_of(client.get(deleted.headers["location"]).text)


def test_fetch_now_shows_the_state_live_and_the_result(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    account = make_account(runtime, tenant.company_id, mailenv, address)
    csrf = login(client, tenant.admin)
    page = client.get("/mail").text
    assert f'id="mail-sync-{account}"' in page and "Pobierz teraz" in page
    assert "Jeszcze nie pobrano" in text_of(page)

    queued = client.post(f"/mail/accounts/{account}/fetch", headers={**HTMX, "X-CSRF-Token": csrf})
    assert queued.status_code == 200
    assert "<html" not in queued.text and 'hx-trigger="every 2s"' in queued.text
    assert "Czeka na pobranie…" in queued.text and "disabled" in queued.text
    state = client.get(f"{API}/accounts/{account}/sync", headers=tenant.admin.headers).json()
    assert state["phase"] == "queued"

    # A running first sync: its phase, folder and progress, and the block keeps asking.
    with runtime.tenant(tenant.company_id) as session:
        row = session.get(MailSyncState, account)
        assert row is not None
        row.lock_owner, row.lock_expires_at = "worker-1", utcnow() + timedelta(minutes=5)
        row.phase, row.progress_folder, row.progress_done, row.progress_total = (
            "fetching",
            "INBOX",
            3,
            10,
        )
    running = client.get(f"/mail/accounts/{account}/sync", headers=HTMX)
    assert (
        'progress max="10" value="3"' in running.text and "Pobieranie wiadomości…" in running.text
    )
    assert "INBOX" in running.text and "HX-Refresh" not in running.headers
    with runtime.tenant(tenant.company_id) as session:
        row = session.get(MailSyncState, account)
        assert row is not None
        row.lock_owner, row.lock_expires_at = None, None

    assert fetch(runtime, tenant.company_id, account).error is None  # what the worker does
    finished = client.get(f"/mail/accounts/{account}/sync", headers=HTMX)
    assert finished.headers["HX-Refresh"] == "true"  # the page reloads with the new folders
    assert "hx-trigger" not in finished.text and "Ostatnio pobrano:" in finished.text
    assert "Odebrane" in client.get("/mail").text

    plain = post(client, f"/mail/accounts/{account}/fetch", csrf, next="/mail")
    assert done_of(plain) == {"done": ["fetch"]}
    assert "Zlecono pobranie" in text_of(client.get(plain.headers["location"]).text)


def test_a_failed_fetch_and_a_refused_one_say_why(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    wrong = make_account(
        runtime, tenant.company_id, mailenv, new_mailbox(mailenv), password="zle-haslo-0000"
    )
    inactive = make_account(runtime, tenant.company_id, mailenv, new_mailbox(mailenv), active=False)
    assert fetch(runtime, tenant.company_id, wrong).error is not None
    csrf = login(client, tenant.admin)
    block = client.get(f"/mail/accounts/{wrong}/sync").text
    assert "Ostatni błąd:" in block and "Authentication failed" in block  # Dovecot's words
    assert "zle-haslo-0000" not in block

    refused = post(client, f"/mail/accounts/{inactive}/fetch", csrf, next="/mail")
    assert refused.status_code == 409
    api = client.post(f"{API}/accounts/{inactive}/fetch", headers=tenant.admin.headers)
    assert api.status_code == 409 and api.json()["detail"] in text_of(refused.text)
    assert "Poczta tego konta nie zostanie pobrana." in text_of(refused.text)
    in_block = client.post(
        f"/mail/accounts/{inactive}/fetch", headers={**HTMX, "X-CSRF-Token": csrf}
    )
    assert in_block.status_code == 200 and api.json()["detail"] in text_of(in_block.text)


def test_another_companys_accounts_and_folders_are_not_found(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    other_tenant: Tenant,
    mailenv: MailEnv,
    imap_mailbox: Mailbox,
) -> None:
    account, folder = imap_mailbox.account_id, imap_mailbox.folders["Trash"]
    csrf = login(client, other_tenant.admin)
    assert f'id="mail-sync-{account}"' not in client.get("/mail").text
    for url, fields in (
        (f"/mail/accounts/{account}/fetch", {}),
        (f"/mail/accounts/{account}/folders", {"name": "Cudzy"}),
        (f"/mail/folders/{folder}/rename", {"name": "Cudzy"}),
        (f"/mail/folders/{folder}/delete", {}),
    ):
        response = post(client, url, csrf, **fields)
        assert response.status_code == 404, (url, response.text)
    assert client.get(f"/mail/accounts/{account}/sync").status_code == 404
    assert "Cudzy" not in server_folders(mailenv, imap_mailbox.address)
    assert "Trash" in server_folders(mailenv, imap_mailbox.address)
    login(client, tenant.admin)
    forged = client.post(
        f"/mail/accounts/{account}/folders", data={"name": "Bez tokenu"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert "Bez tokenu" not in server_folders(mailenv, imap_mailbox.address)
