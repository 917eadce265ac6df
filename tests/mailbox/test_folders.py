"""Folders edited through the API reach the real IMAP server first (D2); POP3 folders are local."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from postroom.db.models import Account
from postroom.enums import AccessMode, Role
from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.mailbox.conftest import Mailbox
from tests.mailbox.support import (
    imap_client,
    messages_of,
    new_address,
    pop3_account,
    server_folders,
)
from tests.support import Tenant

API = "/api/v1"


def test_folders_are_listed_with_counts(
    client: TestClient, tenant: Tenant, imap_mailbox: Mailbox
) -> None:
    inbox = imap_mailbox.folders["INBOX"]
    listed = client.get(
        f"{API}/accounts/{imap_mailbox.account_id}/folders", headers=tenant.admin.headers
    )
    assert listed.status_code == 200, listed.text
    folders = listed.json()
    assert [f["role"] for f in folders][:2] == ["inbox", "drafts"]
    by_path = {f["path"]: f for f in folders}
    assert by_path["INBOX"] == by_path["INBOX"] | {"id": inbox, "total": 3, "unread": 3}
    assert by_path["Trash"]["role"] == "trash" and by_path["Trash"]["total"] == 0


def test_create_rename_and_delete_reach_the_server(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, imap_mailbox: Mailbox
) -> None:
    headers, address = tenant.admin.headers, imap_mailbox.address
    url = f"{API}/accounts/{imap_mailbox.account_id}/folders"
    created = client.post(url, headers=headers, json={"name": "Klienci"})
    assert created.status_code == 201, created.text
    parent = created.json()
    assert parent | {"path": "Klienci", "role": "other", "is_local": False} == parent
    child = client.post(url, headers=headers, json={"name": "Żabka", "parent_id": parent["id"]})
    assert child.status_code == 201, child.text
    assert child.json()["path"] == "Klienci/Żabka" and child.json()["parent_id"] == parent["id"]
    assert {"Klienci", "Klienci/&AXs-abka"} <= server_folders(mailenv, address)  # RFC 3501 UTF-7

    renamed = client.patch(f"{API}/folders/{parent['id']}", headers=headers, json={"name": "Firmy"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["path"] == "Firmy"
    on_server = server_folders(mailenv, address)
    assert {"Firmy", "Firmy/&AXs-abka"} <= on_server and "Klienci" not in on_server
    child_now = client.get(url, headers=headers).json()
    assert "Firmy/Żabka" in {f["path"] for f in child_now}

    refused = client.delete(f"{API}/folders/{parent['id']}", headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "folder_has_subfolders"
    assert client.delete(f"{API}/folders/{child.json()['id']}", headers=headers).status_code == 204
    assert client.delete(f"{API}/folders/{parent['id']}", headers=headers).status_code == 204
    on_server = server_folders(mailenv, address)
    assert not {f for f in on_server if f.startswith("Firmy")}
    assert "Firmy" not in {f["path"] for f in client.get(url, headers=headers).json()}


def test_a_subfolder_moves_to_the_top_level(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, imap_mailbox: Mailbox
) -> None:
    headers = tenant.admin.headers
    url = f"{API}/accounts/{imap_mailbox.account_id}/folders"
    parent = client.post(url, headers=headers, json={"name": "Archiwum 2023"}).json()
    child = client.post(url, headers=headers, json={"name": "Q1", "parent_id": parent["id"]})
    moved = client.patch(
        f"{API}/folders/{child.json()['id']}", headers=headers, json={"parent_id": None}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json() | {"path": "Q1", "parent_id": None} == moved.json()
    assert "Q1" in server_folders(mailenv, imap_mailbox.address)
    into_itself = client.patch(
        f"{API}/folders/{parent['id']}", headers=headers, json={"parent_id": parent["id"]}
    )
    assert into_itself.status_code == 422
    assert into_itself.json()["errors"][0]["field"] == "parent_id"


def test_special_folders_cannot_be_renamed_or_deleted(
    client: TestClient, tenant: Tenant, imap_mailbox: Mailbox
) -> None:
    for path in ("INBOX", "Sent", "Drafts", "Trash"):
        folder = imap_mailbox.folders[path]
        deleted = client.delete(f"{API}/folders/{folder}", headers=tenant.admin.headers)
        assert deleted.status_code == 409, path
        assert deleted.json()["code"] == "special_folder"
        renamed = client.patch(
            f"{API}/folders/{folder}", headers=tenant.admin.headers, json={"name": "X"}
        )
        assert renamed.json()["code"] == "special_folder"


def test_a_non_empty_folder_is_not_deleted(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv, imap_mailbox: Mailbox
) -> None:
    headers = tenant.admin.headers
    url = f"{API}/accounts/{imap_mailbox.account_id}/folders"
    folder = client.post(url, headers=headers, json={"name": "Umowy"}).json()
    first = _inbox_ids(runtime, tenant, imap_mailbox)[0]
    moved = client.post(
        f"{API}/mail/{first}/move", headers=headers, json={"folder_id": folder["id"]}
    )
    assert moved.status_code == 200, moved.text
    refused = client.delete(f"{API}/folders/{folder['id']}", headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "folder_not_empty"
    assert "1 message" in refused.json()["detail"]

    # Mail on the server that no fetch has brought yet counts too.
    other = client.post(url, headers=headers, json={"name": "Nowe"}).json()
    with imap_client(mailenv, imap_mailbox.address) as imap:
        imap.append("Nowe", None, None, imap_mailbox.raws[0])
    refused = client.delete(f"{API}/folders/{other['id']}", headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "folder_not_empty"
    assert "Nowe" in server_folders(mailenv, imap_mailbox.address)


def test_bad_names_are_refused_naming_the_field(
    client: TestClient, tenant: Tenant, imap_mailbox: Mailbox
) -> None:
    url = f"{API}/accounts/{imap_mailbox.account_id}/folders"
    for name in ("a/b", "", "ab*", "x\ty"):
        response = client.post(url, headers=tenant.admin.headers, json={"name": name})
        assert response.status_code == 422, name
        assert response.json()["errors"][0]["field"] == "name"


def test_the_servers_refusal_is_shown_in_its_words(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, imap_mailbox: Mailbox
) -> None:
    url = f"{API}/accounts/{imap_mailbox.account_id}/folders"
    assert client.post(url, headers=tenant.admin.headers, json={"name": "Dup"}).status_code == 201
    again = client.post(url, headers=tenant.admin.headers, json={"name": "Dup"})
    assert again.status_code == 409 and again.json()["code"] == "folder_exists"
    # Made by another client since the last fetch: Postroom does not know it, the server does.
    with imap_client(mailenv, imap_mailbox.address) as imap:
        assert imap.create("Zrobiony")[0] == "OK"
    refused = client.post(url, headers=tenant.admin.headers, json={"name": "Zrobiony"})
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["code"] == "mail_server_refused"
    assert "refused to create the folder" in body["detail"] and "exists" in body["detail"]
    assert "Zrobiony" not in {
        f["path"] for f in client.get(url, headers=tenant.admin.headers).json()
    }


def test_pop3_folders_are_local(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv
) -> None:
    account = pop3_account(runtime, tenant.company_id, mailenv, new_address("pop"))
    url = f"{API}/accounts/{account}/folders"
    created = client.post(url, headers=tenant.admin.headers, json={"name": "Faktury"})
    assert created.status_code == 201, created.text
    assert created.json() | {"is_local": True, "path": "Faktury"} == created.json()
    renamed = client.patch(
        f"{API}/folders/{created.json()['id']}",
        headers=tenant.admin.headers,
        json={"name": "Rachunki"},
    )
    assert renamed.json()["path"] == "Rachunki"


def test_only_users_of_the_account_change_its_folders(
    client: TestClient, tenant: Tenant, imap_mailbox: Mailbox, runtime: Runtime
) -> None:
    stranger = tenant.add_user(Role.USER)
    url = f"{API}/accounts/{imap_mailbox.account_id}/folders"
    assert client.get(url, headers=stranger.headers).status_code == 200  # company account
    with runtime.tenant(tenant.company_id) as session:
        session.execute(
            update(Account)
            .where(Account.id == imap_mailbox.account_id)
            .values(access_mode=AccessMode.LISTED)
        )
    assert client.get(url, headers=stranger.headers).status_code == 404
    created = client.post(url, headers=stranger.headers, json={"name": "X"})
    assert created.status_code == 404
    inbox = imap_mailbox.folders["INBOX"]
    assert client.delete(f"{API}/folders/{inbox}", headers=stranger.headers).status_code == 404


def _inbox_ids(runtime: Runtime, tenant: Tenant, mailbox: Mailbox) -> list[int]:
    inbox = mailbox.folders["INBOX"]
    rows = messages_of(runtime, tenant.company_id, mailbox.account_id)
    return [m.id for m in rows if m.folder_id == inbox]
