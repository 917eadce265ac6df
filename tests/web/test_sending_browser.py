"""Compose, outbox and timeline in Debian's chromium; the worker sends to the real Postfix."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from postroom.app import create_app
from postroom.db.models import User
from postroom.enums import EmailMode
from postroom.services import routing
from postroom.services.message_schemas import DraftWrite
from postroom.services.runtime import Runtime
from tests.api.helpers import mailbox
from tests.fixtures.mailenv import MailEnv
from tests.mail.mime_support import PDF_HEADER
from tests.support import MAILBOX_PASSWORD, Member, Tenant
from tests.web.conftest import LiveServer, make_account, serve
from tests.web.sending_support import add_account, add_project, drafts_of, email_on
from tests.worker.outbox_support import wait_for_file_with

Login = Callable[[Member], Page]
SENDER = "wysylka-web@example.test"
RECIPIENT = "klient-web@example.test"
SLOW = 30_000  # ms: delivery through Postfix, seen by the page's own refreshing


@pytest.fixture
def live_server(runtime: Runtime) -> Iterator[LiveServer]:
    """The service as `postroom serve` runs it: the web UI, the API and the worker."""
    for url in serve(create_app(runtime, with_worker=True)):
        yield LiveServer(url=url, runtime=runtime)


def _options(page: Page) -> list[tuple[str, str]]:
    options = page.locator("#f-sender option")
    return [
        (
            str(options.nth(i).get_attribute("value")),
            str(options.nth(i).get_attribute("data-address")),
        )
        for i in range(options.count())
    ]


def _rules(runtime: Runtime, tenant: Tenant, member: Member, project: int | None) -> list[Any]:
    with runtime.tenant(tenant.company_id) as session:
        user = session.get(User, member.id)
        assert user is not None
        found = routing.list_senders(
            session, actor=user, project_id=project, settings=runtime.settings
        )
    return [(f"account:{o.account_id}", o.address) for o in found]


def _default(runtime: Runtime, tenant: Tenant, member: Member, project: int | None) -> str:
    with runtime.tenant(tenant.company_id) as session:
        user = session.get(User, member.id)
        assert user is not None
        found = routing.list_senders(
            session, actor=user, project_id=project, settings=runtime.settings
        )
    return next(f"account:{o.account_id}" for o in found if o.default)


def _wait_for_draft(
    runtime: Runtime, tenant: Tenant, member: Member, check: Callable[[DraftWrite], bool]
) -> DraftWrite:
    """The member's draft once `check` holds (a beacon arrives after the page has gone)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for _, draft in drafts_of(runtime, tenant, member.id):
            if check(draft):
                return draft
        time.sleep(0.1)
    raise AssertionError(f"no draft as expected: {drafts_of(runtime, tenant, member.id)}")


def test_compose_and_send_an_invoice_with_an_attachment_until_it_is_sent(
    login: Login,
    runtime: Runtime,
    tenant: Tenant,
    mailenv: MailEnv,
    tmp_path: Path,
) -> None:
    email_on(runtime, tenant)
    mailbox(mailenv, SENDER)
    mailbox(mailenv, RECIPIENT)
    account = make_account(
        runtime,
        tenant,
        SENDER,
        display_name="Biuro Alfa",
        smtp_host=mailenv.host,
        smtp_port=mailenv.submission_port,
        smtp_security="starttls",
        smtp_password=MAILBOX_PASSWORD,
        owner_user_id=tenant.admin.id,
    )
    invoice = tmp_path / "Faktura_7_2026.pdf"
    invoice.write_bytes(PDF_HEADER + b"faktura 7/2026")
    page = login(tenant.admin)

    page.locator(".mainnav").get_by_role("link", name="Napisz").click()
    expect(page.locator("h1")).to_have_text("Nowa wiadomość")
    expect(page.locator("#f-sender")).to_have_value(f"account:{account}")
    expect(page.locator("#f-sender option:checked")).to_contain_text(
        "Biuro Alfa <wysylka-web@example.test> — Twoje własne"
    )
    page.fill("#f-to", f"Klient Web <{RECIPIENT}>")
    page.fill("#f-subject", "Faktura 7/2026")
    page.fill("#f-text", "Dzień dobry,\nw załączniku faktura.")
    page.select_option("#f-document_kind", label="Faktura")
    page.set_input_files("#f-files", str(invoice))  # attached as soon as it is chosen
    expect(page.locator(".attachment-name")).to_have_text("Faktura_7_2026.pdf")
    expect(page.locator(".attachment-size")).to_have_text("1 KB")
    expect(page).to_have_url(re.compile(r"/compose/\d+$"))
    expect(page.locator("#f-subject")).to_have_value("Faktura 7/2026")  # nothing typed lost

    page.get_by_role("button", name="Wyślij", exact=True).click()
    expect(page).to_have_url(re.compile(r"/outbox/\d+\?queued=1$"))
    expect(page.locator("#queued-notice")).to_be_visible()
    expect(page.locator("#message-status")).to_have_text("Wysłana", timeout=SLOW)
    ok = page.locator('[data-event="attempt-ok"]')
    expect(ok).to_contain_text("Przyjęta przez serwer")
    expect(ok.locator(".reply-code")).to_have_text("250")
    expect(page.locator('[data-recipient-status="accepted"]')).to_have_text("Przyjęty")
    message_id = page.url.split("/outbox/")[1].split("?")[0]
    header = page.locator(".page-head .mono").inner_text().strip("<>")

    page.locator(".mainnav").get_by_role("link", name="Wysyłka").click()
    row = page.locator(f'tr[data-message-id="{message_id}"]')
    expect(row.locator("[data-status-badge]")).to_have_text("Wysłana")
    expect(row).to_contain_text("Faktura 7/2026")
    expect(row).to_contain_text(RECIPIENT)
    expect(page.locator("#outbox-results")).not_to_have_attribute("hx-trigger", re.compile("."))

    delivered = wait_for_file_with(mailenv.maildir(RECIPIENT), header.encode())
    assert b'filename="Faktura_7_2026.pdf"' in delivered.read_bytes()


def test_the_from_picker_follows_the_rules_with_and_without_a_project_bound_account(
    login: Login, page: Page, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant, EmailMode.OWN)
    gamma = add_project(runtime, tenant, "Klient Gamma")
    with_own = tenant.add_user()
    without = tenant.add_user()
    biuro = add_account(runtime, tenant, "biuro@alfa.example.test")
    add_account(runtime, tenant, "gamma@alfa.example.test", project=gamma)
    own = add_account(runtime, tenant, "anna@alfa.example.test", owner=with_own.id, project=gamma)

    for member in (with_own, without):
        login(member)
        page.goto("/compose")
        expect(page.locator("#f-sender option")).to_have_count(
            len(_rules(runtime, tenant, member, None))
        )
        assert _options(page) == _rules(runtime, tenant, member, None)
        expect(page.locator("#f-sender")).to_have_value(_default(runtime, tenant, member, None))

        page.select_option("#f-project_id", label="Klient Gamma")
        inside = _rules(runtime, tenant, member, gamma)
        expect(page.locator("#f-sender option")).to_have_count(len(inside))
        assert _options(page) == inside
        expect(page.locator("#f-sender")).to_have_value(_default(runtime, tenant, member, gamma))
        page.get_by_role("button", name="Wyloguj").click()

    # A sender the user picks stays when the project changes, as long as it is offered there.
    login(with_own)
    page.goto("/compose")
    page.select_option("#f-sender", value=f"account:{biuro}")
    page.select_option("#f-project_id", label="Klient Gamma")
    expect(page.locator("#f-sender option")).to_have_count(3)
    expect(page.locator("#f-sender option:checked")).to_have_attribute(
        "data-address", "biuro@alfa.example.test"
    )

    # The personal account bound to the project is offered only inside it, and wins there.
    assert f"account:{own}" not in dict(_rules(runtime, tenant, with_own, None))
    assert _default(runtime, tenant, with_own, gamma) == f"account:{own}"
    assert [a for _, a in _rules(runtime, tenant, without, gamma)] == [
        "gamma@alfa.example.test",
        "biuro@alfa.example.test",
    ]


def test_a_refused_address_keeps_everything_typed(
    login: Login, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant)
    add_account(runtime, tenant, "biuro@alfa.example.test")
    page = login(tenant.admin)
    page.goto("/compose")
    page.fill("#f-to", "jan@klient.example.test; jan@")
    page.fill("#f-subject", "Przypomnienie o płatności")
    page.fill("#f-text", "Uprzejmie przypominamy o płatności.")
    page.select_option("#f-document_kind", label="Przypomnienie o płatności")
    page.get_by_role("button", name="Wyślij", exact=True).click()

    expect(page.locator("#err-to")).to_have_text("„jan@” nie jest poprawnym adresem e-mail.")
    expect(page.locator("#field-to")).to_have_class(re.compile("has-error"))
    expect(page.locator("#f-to")).to_have_value("jan@klient.example.test; jan@")
    expect(page.locator("#f-subject")).to_have_value("Przypomnienie o płatności")
    expect(page.locator("#f-text")).to_have_value("Uprzejmie przypominamy o płatności.")
    expect(page.locator("#f-document_kind")).to_have_value("payment_reminder")

    page.fill("#f-to", "jan@klient.example.test")  # corrected: now it goes
    page.get_by_role("button", name="Wyślij", exact=True).click()
    expect(page).to_have_url(re.compile(r"/outbox/\d+\?queued=1$"))
    assert drafts_of(runtime, tenant, tenant.admin.id) == []


def test_the_draft_saves_itself_and_comes_back_after_a_reload(
    login: Login, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant)
    add_account(runtime, tenant, "biuro@alfa.example.test")
    page = login(tenant.admin)
    page.goto("/compose")
    expect(page.locator("#draft-status")).to_have_text(
        "Szkic zapisuje się automatycznie w trakcie pisania."
    )
    page.fill("#f-to", "jan@klient.example.test")
    page.fill("#f-subject", "Potwierdzenie salda")
    page.fill("#f-text", "Prosimy o potwierdzenie salda.")

    expect(page.locator("#draft-status")).to_contain_text("Szkic zapisany")  # the autosave
    expect(page).to_have_url(re.compile(r"/compose/\d+$"))
    page.reload()
    expect(page.locator("#f-to")).to_have_value("jan@klient.example.test")
    expect(page.locator("#f-subject")).to_have_value("Potwierdzenie salda")
    expect(page.locator("#f-text")).to_have_value("Prosimy o potwierdzenie salda.")

    # Leaving before the next autosave: the page saves what changed as it goes.
    page.fill("#f-text", "Prosimy o potwierdzenie salda do piątku.")
    page.locator(".mainnav").get_by_role("link", name="Wysyłka").click()
    expect(page.locator("h1")).to_have_text("Wysyłka")
    draft = _wait_for_draft(runtime, tenant, tenant.admin, lambda d: "piątku" in (d.text or ""))
    assert draft.subject == "Potwierdzenie salda"
    assert len(drafts_of(runtime, tenant, tenant.admin.id)) == 1  # the same draft, saved over

    page.get_by_role("link", name="Szkice").click()
    page.get_by_role("link", name="Potwierdzenie salda").click()
    expect(page.locator("#f-text")).to_have_value("Prosimy o potwierdzenie salda do piątku.")


def test_the_pages_speak_polish_and_english(login: Login, runtime: Runtime, tenant: Tenant) -> None:
    email_on(runtime, tenant)
    page = login(tenant.admin)
    nav = page.locator(".mainnav")
    expect(nav).to_contain_text("Napisz")
    expect(nav).to_contain_text("Wysyłka")
    page.locator(".mainnav").get_by_role("link", name="Wysyłka").click()
    expect(page.locator(".empty-state h2")).to_have_text("Nic jeszcze nie wysłano")
    page.locator(".mainnav").get_by_role("link", name="Napisz").click()
    for label in ("Od", "Do", "DW", "UDW", "Temat", "Rodzaj dokumentu", "Projekt", "Załączniki"):
        expect(page.locator("#compose-form")).to_contain_text(label)
    expect(page.get_by_role("button", name="Wyślij", exact=True)).to_be_visible()

    page.locator(".lang-switch button[value=en]").click()
    expect(page.locator("h1")).to_have_text("New message")
    expect(nav).to_contain_text("Compose")
    expect(nav).to_contain_text("Outbox")
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_visible()
