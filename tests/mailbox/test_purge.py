"""Purging from Deleted Items (D3): the permission, and the server copy kept or deleted (A7)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from postroom.db.models import Account
from postroom.db.models_mailbox import MailPurged, MailText, Pop3SeenUidl
from postroom.enums import Role
from postroom.services.runtime import Runtime
from postroom.storage.mailstore import mail_store_for
from tests.fixtures.mailenv import MailEnv
from tests.mailbox.conftest import Mailbox
from tests.mailbox.support import (
    make_message,
    messages_of,
    mirror_imap,
    mirror_pop3,
    new_address,
    pop3_account,
    pop3_uidls,
    server_messages,
)
from tests.support import Tenant

API = "/api/v1"


def _deleted(client: TestClient, tenant: Tenant, runtime: Runtime, mailbox: Mailbox) -> int:
    inbox = mailbox.folders["INBOX"]
    rows = messages_of(runtime, tenant.company_id, mailbox.account_id)
    first = next(m.id for m in rows if m.folder_id == inbox)
    response = client.post(f"{API}/mail/{first}/delete", headers=tenant.admin.headers)
    assert response.status_code == 200, response.text
    return first


def _set_option(runtime: Runtime, tenant: Tenant, account_id: int, value: bool) -> None:
    with runtime.tenant(tenant.company_id) as session:
        session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(delete_on_server_when_purged=value)
        )


def test_purging_needs_the_permission_and_says_who_has_it(
    client: TestClient, tenant: Tenant, runtime: Runtime, imap_mailbox: Mailbox
) -> None:
    deleted = _deleted(client, tenant, runtime, imap_mailbox)
    plain = tenant.add_user(Role.USER)
    with runtime.tenant(tenant.company_id) as session:
        from postroom.services import users

        users.create_user(
            session,
            actor=None,
            company_id=tenant.company_id,
            email="kasia@alfa.example.test",
            name="Katarzyna Nowak",
            can_purge_mail=True,
        )
    refused = client.post(f"{API}/mail/{deleted}/purge", headers=plain.headers)
    assert refused.status_code == 403, refused.text
    body = refused.json()
    assert body["code"] == "purge_not_allowed"
    assert "Katarzyna Nowak <kasia@alfa.example.test>" in body["detail"]
    assert tenant.admin.email in body["detail"] and plain.email not in body["detail"]
    assert deleted in [
        m.id for m in messages_of(runtime, tenant.company_id, imap_mailbox.account_id)
    ]

    allowed = tenant.add_user(Role.USER, can_purge_mail=True)
    purged = client.post(f"{API}/mail/{deleted}/purge", headers=allowed.headers)
    assert purged.status_code == 200, purged.text
    assert purged.json() == {"purged": 1, "deleted_on_server": 0}


def test_purge_keeps_the_server_copy_unless_the_account_says_otherwise(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv, imap_mailbox: Mailbox
) -> None:
    deleted = _deleted(client, tenant, runtime, imap_mailbox)
    (row,) = [
        m
        for m in messages_of(runtime, tenant.company_id, imap_mailbox.account_id)
        if m.id == deleted
    ]
    store = mail_store_for(runtime.settings.data_dir)
    assert store.read(row.blob_key) == imap_mailbox.raws[0]
    purged = client.post(f"{API}/mail/{deleted}/purge", headers=tenant.admin.headers)
    assert purged.json() == {"purged": 1, "deleted_on_server": 0}
    assert deleted not in [
        m.id for m in messages_of(runtime, tenant.company_id, imap_mailbox.account_id)
    ]
    assert not store.exists(row.blob_key)
    with runtime.tenant(tenant.company_id) as session:
        texts = session.scalar(
            select(func.count()).select_from(MailText).where(MailText.message_id == deleted)
        )
    assert texts == 0
    with runtime.tenant(tenant.company_id) as session:  # a tombstone for the kept copy
        tombstone = session.scalars(select(MailPurged)).one()
    assert (tombstone.uid, tombstone.content_sha256) == (row.uid, row.content_sha256)
    assert [m["raw"] for m in server_messages(mailenv, imap_mailbox.address, "Trash").values()] == [
        imap_mailbox.raws[0]
    ]
    # The next fetch does not bring it back: every UID of Trash up to it counts as stored.
    before = len(messages_of(runtime, tenant.company_id, imap_mailbox.account_id))
    mirror_imap(runtime, tenant.company_id, imap_mailbox.account_id, mailenv, imap_mailbox.address)
    assert len(messages_of(runtime, tenant.company_id, imap_mailbox.account_id)) == before

    _set_option(runtime, tenant, imap_mailbox.account_id, True)
    second = _deleted(client, tenant, runtime, imap_mailbox)
    purged = client.post(f"{API}/mail/purge", headers=tenant.admin.headers, json={"ids": [second]})
    assert purged.json() == {"purged": 1, "deleted_on_server": 1}
    in_trash = [m["raw"] for m in server_messages(mailenv, imap_mailbox.address, "Trash").values()]
    assert in_trash == [imap_mailbox.raws[0]]  # the first one's copy, kept; the second gone


def test_only_deleted_items_are_purged(
    client: TestClient, tenant: Tenant, runtime: Runtime, imap_mailbox: Mailbox
) -> None:
    inbox = imap_mailbox.folders["INBOX"]
    rows = messages_of(runtime, tenant.company_id, imap_mailbox.account_id)
    first = next(m.id for m in rows if m.folder_id == inbox)
    refused = client.post(f"{API}/mail/{first}/purge", headers=tenant.admin.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "not_in_deleted_items"


def test_pop3_purge_deletes_on_the_server_when_asked_and_never_downloads_again(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv
) -> None:
    address = new_address("pop")
    account = pop3_account(runtime, tenant.company_id, mailenv, address)
    for subject in ("Pierwsza", "Druga"):
        mailenv.deliver(make_message(subject, when=datetime(2024, 6, 1, tzinfo=UTC)), address)
    mirror_pop3(runtime, tenant.company_id, account, mailenv, address)
    first, second = messages_of(runtime, tenant.company_id, account)
    for message in (first, second):
        client.post(f"{API}/mail/{message.id}/delete", headers=tenant.admin.headers)

    kept = client.post(f"{API}/mail/{first.id}/purge", headers=tenant.admin.headers)
    assert kept.json() == {"purged": 1, "deleted_on_server": 0}
    assert set(pop3_uidls(mailenv, address)) == {first.pop_uidl, second.pop_uidl}

    _set_option(runtime, tenant, account, True)
    gone = client.post(f"{API}/mail/{second.id}/purge", headers=tenant.admin.headers)
    assert gone.json() == {"purged": 1, "deleted_on_server": 1}
    assert set(pop3_uidls(mailenv, address)) == {first.pop_uidl}
    with runtime.tenant(tenant.company_id) as session:
        seen = dict(
            session.execute(
                select(Pop3SeenUidl.uidl, Pop3SeenUidl.deleted_on_server).where(
                    Pop3SeenUidl.account_id == account
                )
            ).all()
        )
    assert seen == {first.pop_uidl: False, second.pop_uidl: True}
    mirror_pop3(runtime, tenant.company_id, account, mailenv, address)
    assert messages_of(runtime, tenant.company_id, account) == []


def test_seeing_a_colleagues_account_is_not_enough_to_change_its_mail(
    client: TestClient, tenant: Tenant, runtime: Runtime, imap_mailbox: Mailbox
) -> None:
    owner = tenant.add_user(Role.USER)
    watcher = tenant.add_user(Role.USER, can_see_others_accounts=True)  # E2
    with runtime.tenant(tenant.company_id) as session:
        session.execute(
            update(Account)
            .where(Account.id == imap_mailbox.account_id)
            .values(owner_user_id=owner.id)
        )
    inbox = imap_mailbox.folders["INBOX"]
    first = next(
        m.id
        for m in messages_of(runtime, tenant.company_id, imap_mailbox.account_id)
        if m.folder_id == inbox
    )
    url = f"{API}/accounts/{imap_mailbox.account_id}/folders"
    assert client.get(url, headers=watcher.headers).status_code == 200
    refused = client.post(f"{API}/mail/{first}/delete", headers=watcher.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert client.post(f"{API}/mail/{first}/delete", headers=owner.headers).status_code == 200
