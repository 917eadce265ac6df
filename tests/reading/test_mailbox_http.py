"""The mail pages over plain HTTP: folders and lists, search, one message, its frame's headers."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from postroom.enums import FolderRole
from postroom.services.runtime import Runtime
from tests.reading.support import add_folder, corpus, mailbox, store
from tests.support import Tenant
from tests.web.conftest import web_login

_ROW = re.compile(r'<tr class="mail-row( is-unread)?" data-mail-id="(\d+)"')


def rows_on(html: str) -> list[tuple[int, bool]]:
    """(id, unread) of each message row on a page, in order."""
    return [(int(mail_id), bool(unread)) for unread, mail_id in _ROW.findall(html)]


def test_the_mail_page_lists_folders_and_messages_in_polish(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    account, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    sent = add_folder(runtime, tenant, account, "Sent", FolderRole.SENT)
    add_folder(runtime, tenant, account, "INBOX/Faktury")
    alt, attach = store(
        runtime, tenant, inbox, [corpus("alternative_pl.eml"), corpus("attachment_pl.eml")]
    )
    (read,) = store(runtime, tenant, inbox, [corpus("iso8859_2.eml")], seen=True)
    store(runtime, tenant, sent, [corpus("thread_2.eml")], seen=True)
    web_login(client, tenant.admin)

    page = client.get("/mail")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Poczta</h1>" in html and "Wszystkie skrzynki odbiorcze" in html
    assert '<span class="mail-folder-name">Odebrane</span>' in html
    assert '<span class="mail-folder-name">Wysłane</span>' in html  # by role, not "Sent"
    assert '<span class="mail-folder-name">Faktury</span>' in html
    assert re.search(rf'data-folder-id="{inbox}".*?mail-unread-count[^>]*>2<', html, re.S)
    assert rows_on(html) == [(read, False), (attach, True), (alt, True)]
    assert "Faktura VAT 12/2026 – zażółć gęślą jaźń" in html and "Łukasz Wróblewski" in html
    assert "Od najnowszych" in html and "Tylko nieprzeczytane" in html

    by_subject = client.get(f"/mail?folder={inbox}&sort=subject").text
    assert [mail_id for mail_id, _ in rows_on(by_subject)] == [attach, alt, read]
    unread = client.get(f"/mail?folder={inbox}&unread=1").text
    assert rows_on(unread) == [(attach, True), (alt, True)]
    sent_page = client.get(f"/mail?folder={sent}").text
    assert rows_on(sent_page)[0][1] is False
    assert "<th>Do</th>" in sent_page and "piotr.zielinski@klient.example.test" in sent_page

    # htmx asks for the list only when sorting, paging or searching.
    partial = client.get(
        f"/mail?folder={inbox}&sort=-size", headers={"HX-Request": "true", "HX-Target": "mail-list"}
    )
    assert '<div id="mail-list"' in partial.text and "<html" not in partial.text


def test_search_on_the_page(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    _, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    alt, attach = store(
        runtime, tenant, inbox, [corpus("alternative_pl.eml"), corpus("attachment_pl.eml")]
    )
    web_login(client, tenant.admin)
    found = client.get("/mail", params={"q": "ŻÓŁĆ"}).text
    assert rows_on(found) == [(alt, True)]
    assert "Wyniki wyszukiwania: „ŻÓŁĆ”" in found
    assert rows_on(client.get("/mail", params={"q": "fak"}).text) == [(attach, True), (alt, True)]
    nothing = client.get("/mail", params={"q": "nieistnieje"}).text
    assert "Żadna wiadomość nie pasuje do wyszukiwania" in nothing
    no_words = client.get("/mail", params={"q": "!!!"})
    assert no_words.status_code == 200
    assert "Wpisz co najmniej jedno słowo lub liczbę do wyszukania." in no_words.text


def test_a_message_page_shows_it_and_marks_it_read(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    account, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    sent = add_folder(runtime, tenant, account, "Sent", FolderRole.SENT)
    first, attach = store(
        runtime, tenant, inbox, [corpus("thread_1.eml"), corpus("attachment_pl.eml")]
    )
    (reply,) = store(runtime, tenant, sent, [corpus("thread_2.eml")])
    web_login(client, tenant.admin)

    page = client.get(f"/mail/{attach}").text
    assert "Dokumenty do umowy" in page and "Jan Kowalski" in page
    assert f'href="/mail/{attach}/attachments/2"' in page and "Faktura żółć 12.pdf" in page
    assert "Umowa ramowa – Łódź.docx" in page
    assert "W załączniku faktura i umowa." in page  # plain text, shown escaped on the page
    assert "<iframe" not in page
    assert f'href="/mail/{attach}/raw"' in page
    assert dict(rows_on(client.get(f"/mail?folder={inbox}").text))[attach] is False  # now read

    thread = client.get(f"/mail/{first}").text
    assert "Wątek" in thread and f'href="/mail/{reply}"' in thread

    download = client.get(f"/mail/{attach}/attachments/2")
    assert download.headers["content-type"] == "application/pdf"
    assert (
        "filename*=UTF-8''Faktura%20%C5%BC%C3%B3%C5%82%C4%87%2012.pdf"
        in download.headers["content-disposition"]
    )
    raw = client.get(f"/mail/{attach}/raw")
    assert raw.content == corpus("attachment_pl.eml")
    assert raw.headers["content-type"] == "message/rfc822"


def test_html_goes_into_a_sandboxed_frame_with_its_own_policy(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    (mail_id,) = store(runtime, tenant, inbox, [corpus("remote_and_script.eml")])
    web_login(client, tenant.admin)

    page = client.get(f"/mail/{mail_id}").text
    frame = re.search(r"<iframe[^>]*>", page)
    assert frame is not None
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in frame.group(0)
    assert f'src="/mail/{mail_id}/body"' in frame.group(0)
    assert "Pokaż obrazy" in page and f'href="/mail/{mail_id}?images=1"' in page
    assert "tracker.example.test" not in page

    body = client.get(f"/mail/{mail_id}/body")
    policy = body.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "img-src data:;" in policy
    assert "script-src" not in policy and "sandbox allow-popups" in policy
    assert "frame-ancestors 'self'" in policy and body.headers["x-frame-options"] == "SAMEORIGIN"
    assert body.headers["referrer-policy"] == "no-referrer"
    assert "Sprawdź naszą nową ofertę" in body.text
    assert "<script" not in body.text.split("</style>", 1)[1]
    assert "tracker.example.test" not in body.text

    shown = client.get(f"/mail/{mail_id}/body?images=1")
    assert "img-src data: http: https:;" in shown.headers["content-security-policy"]
    assert 'src="https://tracker.example.test/logo.png"' in shown.text
    partial = client.get(
        f"/mail/{mail_id}?images=1", headers={"HX-Request": "true", "HX-Target": "mail-body"}
    ).text
    assert partial.lstrip().startswith('<section id="mail-body"')
    assert f'src="/mail/{mail_id}/body?images=1"' in partial and "Pokaż obrazy" not in partial


def test_mail_of_an_account_the_user_may_not_see_is_not_found(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    user = tenant.add_user()
    _, private = mailbox(runtime, tenant, "kadry@alfa.example.test", owner=tenant.admin.id)
    (mail_id,) = store(runtime, tenant, private, [corpus("attachment_pl.eml")])
    _, theirs = mailbox(runtime, other_tenant, "biuro@beta.example.test")
    (foreign,) = store(runtime, other_tenant, theirs, [corpus("alternative_pl.eml")])
    web_login(client, user)
    for path in (
        f"/mail/{mail_id}",
        f"/mail/{mail_id}/body",
        f"/mail/{mail_id}/raw",
        f"/mail/{mail_id}/attachments/2",
        f"/mail?folder={private}",
        f"/mail/{foreign}",
        f"/mail/{foreign}/body",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Dokumenty do umowy" not in response.text and "zażółć" not in response.text
    listing = client.get("/mail").text
    assert rows_on(listing) == [] and "kadry@alfa" not in listing
