"""Delete, restore, move and flags (D3) against the real Dovecot: the server first, then here."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from postroom.db.models import Account
from postroom.enums import AccessMode, Role
from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.mailbox.conftest import Mailbox
from tests.mailbox.support import (
    folder_row,
    messages_of,
    mirror_imap,
    mirror_pop3,
    new_address,
    pop3_account,
    server_messages,
)
from tests.support import Tenant

API = "/api/v1"


def _inbox(runtime: Runtime, tenant: Tenant, mailbox: Mailbox) -> list[int]:
    rows = messages_of(runtime, tenant.company_id, mailbox.account_id)
    return [m.id for m in rows if m.folder_id == mailbox.folders["INBOX"]]


def test_delete_moves_to_trash_on_the_server_and_restore_brings_it_back(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv, imap_mailbox: Mailbox
) -> None:
    first, second, _ = _inbox(runtime, tenant, imap_mailbox)
    trash, inbox = imap_mailbox.folders["Trash"], imap_mailbox.folders["INBOX"]
    deleted = client.post(f"{API}/mail/{first}/delete", headers=tenant.admin.headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() | {"folder_id": trash, "deleted_from_folder_id": inbox} == deleted.json()

    in_trash = server_messages(mailenv, imap_mailbox.address, "Trash")
    assert [m["raw"] for m in in_trash.values()] == [imap_mailbox.raws[0]]
    assert len(server_messages(mailenv, imap_mailbox.address, "INBOX")) == 2
    (row,) = [
        m for m in messages_of(runtime, tenant.company_id, imap_mailbox.account_id) if m.id == first
    ]
    assert (row.uid, row.uidvalidity) == (
        next(iter(in_trash)),
        folder_row(runtime, tenant.company_id, trash).uidvalidity,
    )
    # Nothing else in Trash: its checkpoint covers the moved message, so no fetch brings it twice.
    assert folder_row(runtime, tenant.company_id, trash).synced_uid == row.uid

    again = client.post(
        f"{API}/mail/delete", headers=tenant.admin.headers, json={"ids": [first, second]}
    )
    assert again.status_code == 200
    assert {m["folder_id"] for m in again.json()["items"]} == {trash}
    assert len(server_messages(mailenv, imap_mailbox.address, "Trash")) == 2

    restored = client.post(f"{API}/mail/{first}/restore", headers=tenant.admin.headers)
    assert restored.status_code == 200, restored.text
    assert restored.json() | {"folder_id": inbox, "deleted_from_folder_id": None} == restored.json()
    back = server_messages(mailenv, imap_mailbox.address, "INBOX")
    assert imap_mailbox.raws[0] in [m["raw"] for m in back.values()]
    assert len(server_messages(mailenv, imap_mailbox.address, "Trash")) == 1

    not_deleted = client.post(f"{API}/mail/{first}/restore", headers=tenant.admin.headers)
    assert not_deleted.status_code == 409 and not_deleted.json()["code"] == "not_in_deleted_items"


def test_a_mirror_of_the_server_after_moves_finds_nothing_new(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv, imap_mailbox: Mailbox
) -> None:
    ids = _inbox(runtime, tenant, imap_mailbox)
    client.post(f"{API}/mail/delete", headers=tenant.admin.headers, json={"ids": ids[:2]})
    before = messages_of(runtime, tenant.company_id, imap_mailbox.account_id)
    mirror_imap(runtime, tenant.company_id, imap_mailbox.account_id, mailenv, imap_mailbox.address)
    after = messages_of(runtime, tenant.company_id, imap_mailbox.account_id)
    assert [(m.id, m.folder_id, m.uid) for m in after] == [
        (m.id, m.folder_id, m.uid) for m in before
    ]


def test_move_to_another_folder(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv, imap_mailbox: Mailbox
) -> None:
    first = _inbox(runtime, tenant, imap_mailbox)[0]
    archive = imap_mailbox.folders["Archive"]
    moved = client.post(
        f"{API}/mail/{first}/move", headers=tenant.admin.headers, json={"folder_id": archive}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["folder_id"] == archive
    archived = server_messages(mailenv, imap_mailbox.address, "Archive")
    assert [m["raw"] for m in archived.values()] == [imap_mailbox.raws[0]]

    elsewhere = client.post(
        f"{API}/mail/{first}/move", headers=tenant.admin.headers, json={"folder_id": 999999}
    )
    assert elsewhere.status_code == 422 and elsewhere.json()["errors"][0]["field"] == "folder_id"


def test_flags_are_written_to_the_server(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv, imap_mailbox: Mailbox
) -> None:
    first, second, _ = _inbox(runtime, tenant, imap_mailbox)
    changed = client.patch(
        f"{API}/mail/{first}", headers=tenant.admin.headers, json={"seen": True, "flagged": True}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() | {"seen": True, "flagged": True} == changed.json()
    flags = {
        m["raw"]: m["flags"]
        for m in server_messages(mailenv, imap_mailbox.address, "INBOX").values()
    }
    assert {"\\Seen", "\\Flagged"} <= flags[imap_mailbox.raws[0]]
    assert "\\Seen" not in flags[imap_mailbox.raws[1]]

    bulk = client.post(
        f"{API}/mail/flags",
        headers=tenant.admin.headers,
        json={"ids": [first, second], "seen": False},
    )
    assert [m["seen"] for m in bulk.json()["items"]] == [False, False]
    flags = {
        m["raw"]: m["flags"]
        for m in server_messages(mailenv, imap_mailbox.address, "INBOX").values()
    }
    assert flags[imap_mailbox.raws[0]] == {"\\Flagged"}

    nothing = client.patch(f"{API}/mail/{first}", headers=tenant.admin.headers, json={})
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["field"] == "seen"


def test_pop3_delete_goes_to_a_local_deleted_items(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv
) -> None:
    from datetime import UTC, datetime

    from tests.mailbox.support import make_message

    address = new_address("pop")
    account = pop3_account(runtime, tenant.company_id, mailenv, address)
    mailenv.deliver(make_message("Zamówienie", when=datetime(2024, 5, 1, tzinfo=UTC)), address)
    inbox = mirror_pop3(runtime, tenant.company_id, account, mailenv, address)
    (message,) = messages_of(runtime, tenant.company_id, account)
    deleted = client.post(f"{API}/mail/{message.id}/delete", headers=tenant.admin.headers)
    assert deleted.status_code == 200, deleted.text
    folders = client.get(f"{API}/accounts/{account}/folders", headers=tenant.admin.headers).json()
    trash = next(f for f in folders if f["role"] == "trash")
    assert trash | {"path": "Deleted Items", "is_local": True, "total": 1} == trash
    assert deleted.json()["deleted_from_folder_id"] == inbox
    flagged = client.patch(
        f"{API}/mail/{message.id}", headers=tenant.admin.headers, json={"flagged": True}
    )
    assert flagged.json()["flagged"] is True
    restored = client.post(f"{API}/mail/{message.id}/restore", headers=tenant.admin.headers)
    assert restored.json()["folder_id"] == inbox


def test_only_users_of_the_account_act_on_its_mail(
    client: TestClient,
    tenant: Tenant,
    other_tenant: Tenant,
    runtime: Runtime,
    imap_mailbox: Mailbox,
) -> None:
    first = _inbox(runtime, tenant, imap_mailbox)[0]
    with runtime.tenant(tenant.company_id) as session:
        session.execute(
            update(Account)
            .where(Account.id == imap_mailbox.account_id)
            .values(access_mode=AccessMode.LISTED)
        )
    outsider = tenant.add_user(Role.USER)
    for member in (outsider, other_tenant.admin):
        response = client.post(f"{API}/mail/{first}/delete", headers=member.headers)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        bulk = client.post(
            f"{API}/mail/flags", headers=member.headers, json={"ids": [first], "seen": True}
        )
        assert bulk.status_code == 404
    rows = messages_of(runtime, tenant.company_id, imap_mailbox.account_id)
    assert next(m for m in rows if m.id == first).folder_id == imap_mailbox.folders["INBOX"]
