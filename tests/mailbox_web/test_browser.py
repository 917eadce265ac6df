"""The mail pages' actions in Debian's chromium against the real Dovecot, with the fetching
worker running: fetch now, delete to Deleted Items, purge, and folder edits, each checked on the
server over IMAP too."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from playwright.sync_api import Dialog, Page, expect

from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.mailbox.support import (
    imap_account,
    make_message,
    new_address,
    server_folders,
    server_messages,
)
from tests.support import MAILBOX_PASSWORD, Member, Tenant
from tests.sync.support import fetch
from tests.worker.test_fetch_worker_mailenv import running_worker

Login = Callable[[Member], Page]
FETCH_TIMEOUT_MS = 60_000  # the worker polls and fetches on a shared machine: be generous


def _subjects(mailenv: MailEnv, address: str, folder: str) -> list[str]:
    found = server_messages(mailenv, address, folder)
    return [
        m["raw"].split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0].decode() for m in found.values()
    ]


def test_fetch_delete_purge_and_folders_in_the_browser(
    login: Login, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_address("przegladarka")
    account = imap_account(
        runtime,
        tenant.company_id,
        mailenv,
        address,
        fetch_interval_minutes=600,
        delete_on_server_when_purged=True,
    )
    mailenv.deliver(make_message("Powitanie", when=datetime(2026, 3, 2, tzinfo=UTC)), address)
    # The first import; in a thread of its own: sync Playwright keeps a loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(fetch, runtime, tenant.company_id, account).result().error is None
    mailenv.deliver(make_message("Faktura 7/2026", when=datetime(2026, 3, 3, tzinfo=UTC)), address)
    runtime.settings.fetch_idle = False  # only "fetch now" can bring the new message

    page = login(tenant.admin)
    page.on("dialog", lambda dialog: _accept(dialog))
    with running_worker(runtime):
        page.goto("/mail")
        expect(page.locator("tr.mail-row")).to_have_count(1)
        sync = page.locator(f"#mail-sync-{account}")
        expect(sync).to_contain_text("Ostatnio pobrano:")
        sync.get_by_role("button", name="Pobierz teraz").click()
        # The block follows the fetch and, once it ends, the page reloads with the new mail.
        new_row = page.locator("tr.mail-row", has_text="Faktura 7/2026")
        expect(new_row).to_be_visible(timeout=FETCH_TIMEOUT_MS)
        expect(page.locator(f"#mail-sync-{account}")).to_have_attribute("data-busy", "false")

    # Delete: to Deleted Items, on the server too.
    page.locator(".mail-folder", has_text="Odebrane").click()
    new_row = page.locator("tr.mail-row", has_text="Faktura 7/2026")
    new_row.locator("input[name=ids]").check()
    expect(page.locator("[data-selected-count]")).to_have_text("Zaznaczono: 1")
    page.get_by_role("button", name="Usuń", exact=True).click()
    expect(page.locator("#mail-notice")).to_have_text("Przeniesiono do kosza: 1")
    expect(page.locator("tr.mail-row")).to_have_count(1)
    assert _subjects(mailenv, address, "Trash") == ["Faktura 7/2026"]
    assert _subjects(mailenv, address, "INBOX") == ["Powitanie"]

    # Purge from Deleted Items (the administrator may): gone from the server.
    page.locator(".mail-folder", has_text="Kosz").click()
    in_trash = page.locator("tr.mail-row", has_text="Faktura 7/2026")
    in_trash.locator("input[name=ids]").check()
    page.get_by_role("button", name="Usuń trwale").click()
    expect(page.locator("#mail-notice")).to_have_text("Usunięto trwale: 1")
    expect(page.locator("tr.mail-row")).to_have_count(0)
    assert server_messages(mailenv, address, "Trash") == {}

    # A folder: created, renamed and deleted, on the server each time.
    account_box = page.locator(f'.mail-account[data-account-id="{account}"]')
    account_box.locator("summary", has_text="Nowy folder").click()
    account_box.get_by_label("Nazwa").fill("Projekty 2026")
    account_box.get_by_role("button", name="Utwórz folder").click()
    expect(page.locator("#mail-notice")).to_have_text("Folder utworzony")
    expect(page.locator(".mail-list-head h2")).to_have_text("Projekty 2026")
    assert "Projekty 2026" in server_folders(mailenv, address)

    page.locator(".mail-folder-edit summary").click()
    page.get_by_label("Nowa nazwa").fill("Projekty archiwum")
    page.get_by_role("button", name="Zmień nazwę").click()
    expect(page.locator("#mail-notice")).to_have_text("Nazwa folderu zmieniona")
    expect(page.locator(".mail-list-head h2")).to_have_text("Projekty archiwum")
    names = server_folders(mailenv, address)
    assert "Projekty archiwum" in names and "Projekty 2026" not in names

    page.locator(".mail-folder-edit summary").click()
    page.get_by_role("button", name="Usuń folder").click()
    expect(page.locator("#mail-notice")).to_have_text("Folder usunięty")
    expect(page).to_have_url(re.compile(r"/mail\?done=folder_deleted$"))
    expect(page.locator(".mail-folder", has_text="Projekty archiwum")).to_have_count(0)
    assert "Projekty archiwum" not in server_folders(mailenv, address)
    assert MAILBOX_PASSWORD not in page.content()


def _accept(dialog: Dialog) -> None:
    """The purge and the folder deletion ask first; the test says yes."""
    dialog.accept()
