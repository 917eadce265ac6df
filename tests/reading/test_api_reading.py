"""The received-mail API: folders with counts, lists, one message, downloads, threads, search."""

from __future__ import annotations

import base64
import imaplib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from postroom.enums import FolderRole
from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.mailbox.support import (
    imap_account,
    imap_client,
    mirror_imap,
    new_address,
    server_messages,
)
from tests.reading.support import CORPUS, add_account, add_folder, corpus, mailbox, store
from tests.support import Member, Tenant

PDF = (
    b"%PDF-1.4\n% Faktura testowa\n1 0 obj << /Type /Catalog >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


def _get(client: TestClient, member: Member, path: str, **params: Any) -> Any:
    response = client.get(f"/api/v1{path}", headers=member.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _message(
    subject: str, date: str, sender: str = "jan@klient.example.test", size: int = 0
) -> bytes:
    body = "x" * size
    return (
        f"From: {sender}\nTo: biuro@alfa.example.test\nSubject: {subject}\nDate: {date}\n"
        f"Message-ID: <{subject.replace(' ', '-')}@klient.example.test>\n\n{body}\n"
    ).encode()


@contextmanager
def counting_queries(runtime: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(runtime.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(runtime.engine, "before_cursor_execute", record)


def _mail_queries(statements: list[str]) -> list[str]:
    return [s for s in statements if "mail_folders" in s or "mail_messages" in s]


def test_folders_with_counts_in_tree_order_from_one_query(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    account, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    invoices = add_folder(runtime, tenant, account, "INBOX/Faktury")
    add_folder(runtime, tenant, account, "Zarchiwizowane/2026")
    add_folder(runtime, tenant, account, "Zarchiwizowane")
    add_folder(runtime, tenant, account, "Kosz", FolderRole.TRASH)
    add_folder(runtime, tenant, account, "Wysłane", FolderRole.SENT)
    store(
        runtime,
        tenant,
        inbox,
        [_message(f"m{n}", "Mon, 2 Nov 2026 10:00:00 +0000") for n in range(3)],
    )
    store(runtime, tenant, inbox, [_message("read", "Mon, 2 Nov 2026 10:00:00 +0000")], seen=True)
    store(runtime, tenant, invoices, [_message("f1", "Mon, 2 Nov 2026 10:00:00 +0000")])
    other, other_inbox = mailbox(runtime, tenant, "anna@alfa.example.test")

    with counting_queries(runtime) as statements:
        folders = _get(client, tenant.admin, "/mail/folders")
    listed = [(f["account_email"], f["path"], f["depth"], f["total"], f["unread"]) for f in folders]
    assert listed == [
        ("anna@alfa.example.test", "INBOX", 0, 0, 0),
        ("biuro@alfa.example.test", "INBOX", 0, 4, 3),
        ("biuro@alfa.example.test", "INBOX/Faktury", 1, 1, 1),
        ("biuro@alfa.example.test", "Wysłane", 0, 0, 0),
        ("biuro@alfa.example.test", "Kosz", 0, 0, 0),
        ("biuro@alfa.example.test", "Zarchiwizowane", 0, 0, 0),
        ("biuro@alfa.example.test", "Zarchiwizowane/2026", 1, 0, 0),
    ]
    assert folders[2]["parent_path"] == "INBOX" and folders[2]["name"] == "Faktury"
    assert folders[1]["role"] == "inbox" and folders[1]["id"] == inbox

    # More folders and messages, the same number of statements: no query per folder.
    for n in range(5):
        extra = add_folder(runtime, tenant, other, f"Projekt {n}")
        store(runtime, tenant, extra, [_message(f"p{n}", "Mon, 2 Nov 2026 10:00:00 +0000")])
    with counting_queries(runtime) as more:
        assert len(_get(client, tenant.admin, "/mail/folders")) == 12
    assert len(_mail_queries(more)) == len(_mail_queries(statements)) == 1

    one = _get(client, tenant.admin, "/mail/folders", account_id=other)
    assert {f["account_id"] for f in one} == {other} and len(one) == 6
    assert other_inbox in {f["id"] for f in one}
    missing = client.get("/api/v1/mail/folders?account_id=999999", headers=tenant.admin.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_list_sorts_pages_and_filters_unread(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    rows = [
        ("Bravo", "Tue, 3 Nov 2026 10:00:00 +0000", "zofia@klient.example.test", 300),
        ("alfa", "Mon, 2 Nov 2026 10:00:00 +0000", "adam@klient.example.test", 100),
        ("Charlie", "Wed, 4 Nov 2026 10:00:00 +0000", "marek@klient.example.test", 200),
        ("delta", "Wed, 4 Nov 2026 10:00:00 +0000", "beata@klient.example.test", 50),
    ]
    ids = store(runtime, tenant, inbox, [_message(s, d, f, n) for s, d, f, n in rows])
    read = store(
        runtime, tenant, inbox, [_message("echo", "Thu, 5 Nov 2026 10:00:00 +0000")], seen=True
    )
    bravo, alfa, charlie, delta = ids

    def order(sort: str, **params: Any) -> list[int]:
        page = _get(client, tenant.admin, "/mail", folder_id=inbox, sort=sort, **params)
        return [item["id"] for item in page["items"]]

    # Equal dates keep a stable order by id.
    assert order("-date") == [read[0], delta, charlie, bravo, alfa]
    assert order("date") == [alfa, bravo, charlie, delta, read[0]]
    assert order("subject") == [alfa, bravo, charlie, delta, read[0]]  # case does not matter
    assert order("-subject") == [read[0], delta, charlie, bravo, alfa]
    assert order("from")[:4] == [alfa, delta, read[0], charlie]  # adam, beata, jan, marek
    assert order("-size")[0] == bravo and order("size")[-1] == bravo
    assert order("-date", unread="true") == [delta, charlie, bravo, alfa]

    pages = [
        _get(client, tenant.admin, "/mail", folder_id=inbox, limit=2, offset=o) for o in (0, 2, 4)
    ]
    assert [i["id"] for p in pages for i in p["items"]] == order("-date")
    assert {p["total"] for p in pages} == {5}
    first = pages[0]["items"][0]
    assert first["subject"] == "echo" and first["seen"] is True
    assert first["from_address"] == "jan@klient.example.test"
    assert first["to"] == [{"name": "", "address": "biuro@alfa.example.test"}]

    bad = client.get("/api/v1/mail?sort=newest", headers=tenant.admin.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "sort"
    missing = client.get("/api/v1/mail?folder_id=999999", headers=tenant.admin.headers)
    assert missing.status_code == 404


def test_without_a_folder_the_list_is_every_visible_inbox(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    user = tenant.add_user()
    boss = tenant.add_user(can_see_others_accounts=True)
    account, shared = mailbox(runtime, tenant, "biuro@alfa.example.test")
    _, private = mailbox(runtime, tenant, "kadry@alfa.example.test", owner=tenant.admin.id)
    archive = add_folder(runtime, tenant, account, "Archiwum")
    in_shared = store(
        runtime, tenant, shared, [_message("wspolna", "Mon, 2 Nov 2026 10:00:00 +0000")]
    )
    in_private = store(
        runtime, tenant, private, [_message("prywatna", "Tue, 3 Nov 2026 10:00:00 +0000")]
    )
    store(runtime, tenant, archive, [_message("archiwalna", "Wed, 4 Nov 2026 10:00:00 +0000")])

    def inboxes(member: Member) -> list[int]:
        return [item["id"] for item in _get(client, member, "/mail")["items"]]

    assert inboxes(tenant.admin) == in_private + in_shared
    assert inboxes(user) == in_shared  # the administrator's personal account is not theirs
    assert inboxes(boss) == in_private + in_shared  # E2: may see others' accounts
    assert client.get(f"/api/v1/mail?folder_id={private}", headers=user.headers).status_code == 404
    assert [f["id"] for f in _get(client, user, "/mail/folders")] == [shared, archive]


def test_reading_a_message_shows_it_and_marks_it_read(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    boss = tenant.add_user(can_see_others_accounts=True)
    owner = tenant.add_user()
    _, inbox = mailbox(runtime, tenant, "anna@alfa.example.test", owner=owner.id)
    (mail_id,) = store(runtime, tenant, inbox, [corpus("alternative_pl.eml")])

    # Someone who may only see the account (E2) reads it without marking it read.
    seen_by_boss = _get(client, boss, f"/mail/{mail_id}")
    assert seen_by_boss["seen"] is False
    assert _get(client, owner, "/mail/folders")[0]["unread"] == 1

    body = _get(client, owner, f"/mail/{mail_id}")
    assert body["subject"] == "Faktura VAT 12/2026 – zażółć gęślą jaźń"
    assert body["from_name"] == "Łukasz Wróblewski"
    assert body["cc"] == [
        {"name": "Małgorzata Żółkiewska", "address": "m.zolkiewska@klient.example.test"}
    ]
    assert body["message_id"] == "alt-1@klient.example.test"
    assert body["account_email"] == "anna@alfa.example.test" and body["folder_name"] == "INBOX"
    assert "Żółć i gęś" in body["text"]
    assert "<b>fakturę</b>" in body["html"]
    assert body["attachments"] == [] and body["remote_images"] == 0
    assert body["seen"] is True
    assert _get(client, owner, "/mail/folders")[0]["unread"] == 0
    assert _get(client, owner, "/mail", folder_id=inbox)["items"][0]["seen"] is True


def test_html_is_cleaned_and_remote_images_wait_to_be_asked_for(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    (mail_id,) = store(runtime, tenant, inbox, [corpus("remote_and_script.eml")])

    blocked = _get(client, tenant.admin, f"/mail/{mail_id}")
    html = blocked["html"]
    for active in (
        "<script",
        "onerror",
        "onload",
        "javascript:",
        "<iframe",
        "<form",
        "<input",
        "<object",
        "<meta",
        "<base",
        "<link",
        "<style",
        "<svg",
        "tracker.example.test",
    ):
        assert active not in html.lower(), active
    assert "Sprawdź naszą nową ofertę" in html
    assert blocked["remote_images"] == 3  # two <img> and one CSS background
    assert blocked["images_loaded"] is False
    assert html.count("data:image/svg+xml") == 2  # the placeholders
    assert 'href="https://www.example.test/oferta"' in html and 'target="_blank"' in html

    loaded = _get(client, tenant.admin, f"/mail/{mail_id}", load_images="true")
    assert loaded["images_loaded"] is True
    assert 'src="https://tracker.example.test/logo.png"' in loaded["html"]
    assert "url(&quot;http://tracker.example.test/div-bg.png&quot;)" in loaded["html"]
    assert "<script" not in loaded["html"] and "onerror" not in loaded["html"]
    assert "style.css" not in loaded["html"] and "style-bg" not in loaded["html"]


def test_inline_images_come_from_the_message_itself(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    (mail_id,) = store(runtime, tenant, inbox, [corpus("inline_cid.eml")])
    body = _get(client, tenant.admin, f"/mail/{mail_id}")
    logo = (CORPUS / "logo.png").read_bytes()
    assert f'src="data:image/png;base64,{base64.b64encode(logo).decode()}"' in body["html"]
    assert body["remote_images"] == 0
    (part,) = body["attachments"]
    assert part["inline"] is True and part["filename"] == "logo.png"
    download = client.get(
        f"/api/v1/mail/{mail_id}/attachments/{part['part']}", headers=tenant.admin.headers
    )
    assert download.content == logo and download.headers["content-type"] == "image/png"


def test_attachments_download_decoded_under_their_polish_names(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    (mail_id,) = store(runtime, tenant, inbox, [corpus("attachment_pl.eml")])
    body = _get(client, tenant.admin, f"/mail/{mail_id}")
    assert body["has_attachments"] is True
    pdf, docx = body["attachments"]
    assert (pdf["filename"], pdf["content_type"], pdf["size"]) == (
        "Faktura żółć 12.pdf",
        "application/pdf",
        len(PDF),
    )
    assert docx["filename"] == "Umowa ramowa – Łódź.docx" and docx["inline"] is False

    response = client.get(
        f"/api/v1/mail/{mail_id}/attachments/{pdf['part']}", headers=tenant.admin.headers
    )
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        'attachment; filename="Faktura zolc 12.pdf"; '
        "filename*=UTF-8''Faktura%20%C5%BC%C3%B3%C5%82%C4%87%2012.pdf"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    second = client.get(
        f"/api/v1/mail/{mail_id}/attachments/{docx['part']}", headers=tenant.admin.headers
    )
    assert second.headers["content-disposition"] == (
        'attachment; filename="Umowa ramowa _ Lodz.docx"; '
        "filename*=UTF-8''Umowa%20ramowa%20%E2%80%93%20%C5%81%C3%B3d%C5%BA.docx"
    )
    for part in (0, 99):  # the multipart container itself, and a part that is not there
        missing = client.get(
            f"/api/v1/mail/{mail_id}/attachments/{part}", headers=tenant.admin.headers
        )
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_raw_download_is_the_bytes_received(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    raw = corpus("iso8859_2.eml")
    (mail_id,) = store(runtime, tenant, inbox, [raw])
    response = client.get(f"/api/v1/mail/{mail_id}/raw", headers=tenant.admin.headers)
    assert response.status_code == 200
    assert response.content == raw
    assert response.headers["content-type"] == "message/rfc822"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Wezwanie do zlozenia dokumentow.eml"')
    assert (
        "filename*=UTF-8''Wezwanie%20do%20z%C5%82o%C5%BCenia%20dokument%C3%B3w.eml" in disposition
    )
    body = _get(client, tenant.admin, f"/mail/{mail_id}")
    assert body["from_name"] == "Bożena Ślęzak" and "źdźbło" in body["text"]
    assert body["html"] is None


def test_thread_gathers_replies_oldest_first(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    account, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    sent = add_folder(runtime, tenant, account, "Wysłane", FolderRole.SENT)
    first, third = store(runtime, tenant, inbox, [corpus("thread_1.eml"), corpus("thread_3.eml")])
    (second,) = store(runtime, tenant, sent, [corpus("thread_2.eml")])
    (alone,) = store(runtime, tenant, inbox, [corpus("iso8859_2.eml")])
    for member in (first, second, third):
        thread = _get(client, tenant.admin, f"/mail/threads/{member}")
        assert [item["id"] for item in thread["items"]] == [first, second, third]
    assert [
        item["id"] for item in _get(client, tenant.admin, f"/mail/threads/{alone}")["items"]
    ] == [alone]


def test_search_api_finds_words_and_names_the_field_at_fault(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    account, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    alt, attach, iso = store(
        runtime,
        tenant,
        inbox,
        [corpus("alternative_pl.eml"), corpus("attachment_pl.eml"), corpus("iso8859_2.eml")],
    )

    def found(**params: Any) -> list[int]:
        page = _get(client, tenant.admin, "/mail/search", **params)
        assert page["total"] == len(page["items"])
        return [item["id"] for item in page["items"]]

    assert found(q="ŻÓŁĆ") == [alt]
    assert found(q="fak") == [attach, alt]
    assert found(q="fak", has_attachments="true") == [attach]
    assert found(q="faktura", **{"from": "KOWALSKI"}) == [attach]
    assert found(q="gęślą", date_from="2026-11-17") == [iso]
    assert found(q="gęślą", date_to="2026-11-16") == [alt]
    assert found(q="gęślą", account_id=account, folder_id=inbox) == [iso, alt]
    assert found(q='"jaźń gęślą"') == []
    assert set(found(q="gęślą", order="relevance")) == {iso, alt}

    for params, field in (
        ({"q": ""}, "q"),
        ({"q": "!!! --"}, "q"),
        ({}, "q"),
        ({"q": "x", "date_from": "2026-11-20", "date_to": "2026-11-01"}, "date_to"),
        ({"q": "x", "date_from": "wczoraj"}, "date_from"),
        ({"q": "x", "order": "best"}, "order"),
    ):
        response = client.get("/api/v1/mail/search", headers=tenant.admin.headers, params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field, params


@pytest.mark.parametrize("path", ["", "/raw", "/attachments/2"])
def test_a_message_of_an_account_the_user_may_not_see_does_not_exist(
    client: TestClient, runtime: Runtime, tenant: Tenant, path: str
) -> None:
    user = tenant.add_user()
    _, private = mailbox(runtime, tenant, "kadry@alfa.example.test", owner=tenant.admin.id)
    (mail_id,) = store(runtime, tenant, private, [corpus("attachment_pl.eml")])
    response = client.get(f"/api/v1/mail/{mail_id}{path}", headers=user.headers)
    assert response.status_code == 404 and "Dokumenty" not in response.text
    thread = client.get(f"/api/v1/mail/threads/{mail_id}", headers=user.headers)
    assert thread.status_code == 404
    assert _get(client, user, "/mail/search", q="dokumenty")["total"] == 0
    assert _get(client, tenant.admin, "/mail/search", q="dokumenty")["total"] == 1
    assert _get(client, tenant.admin, "/mail/folders")[0]["unread"] == 1  # nothing was marked


def test_a_private_account_is_listed_by_its_owner_only(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    owner = tenant.add_user()
    account = add_account(runtime, tenant, "ja@alfa.example.test", owner=owner.id)
    folder = add_folder(runtime, tenant, account, "INBOX", FolderRole.INBOX)
    assert [f["id"] for f in _get(client, owner, "/mail/folders")] == [folder]
    assert _get(client, tenant.add_user(), "/mail/folders") == []


def test_another_company_sees_none_of_our_mail(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    _, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    store(runtime, tenant, inbox, [corpus("alternative_pl.eml"), corpus("attachment_pl.eml")])
    _, theirs = mailbox(runtime, other_tenant, "biuro@beta.example.test")
    (own,) = store(runtime, other_tenant, theirs, [corpus("thread_1.eml")])
    admin = other_tenant.admin
    assert [f["id"] for f in _get(client, admin, "/mail/folders")] == [theirs]
    assert [item["id"] for item in _get(client, admin, "/mail")["items"]] == [own]
    assert _get(client, admin, "/mail/search", q="faktura") == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }


def test_reading_marks_the_message_seen_on_the_imap_server_too(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_address("czytanie")
    account = imap_account(runtime, tenant.company_id, mailenv, address)
    with imap_client(mailenv, address) as imap:
        typ, _ = imap.append("INBOX", "", imaplib.Time2Internaldate(0), corpus("thread_1.eml"))
        assert typ == "OK"
    inbox = mirror_imap(runtime, tenant.company_id, account, mailenv, address)["INBOX"]
    (listed,) = _get(client, tenant.admin, "/mail", folder_id=inbox)["items"]
    ((uid, before),) = server_messages(mailenv, address, "INBOX").items()
    assert "\\Seen" not in before["flags"] and listed["seen"] is False

    body = _get(client, tenant.admin, f"/mail/{listed['id']}")
    assert body["text"].startswith("Czy pasuje Państwu spotkanie")
    assert "\\Seen" in server_messages(mailenv, address, "INBOX")[uid]["flags"]
    assert _get(client, tenant.admin, "/mail", folder_id=inbox)["items"][0]["seen"] is True
