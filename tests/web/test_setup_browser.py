"""The setup wizard in chromium: settings from DNS, "Test account" live, refusals, health."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from postroom.db.models import Account
from postroom.services.runtime import Runtime
from tests.api.helpers import mailbox
from tests.autoconfig.servers import Listener
from tests.fixtures.mailenv import MailEnv
from tests.support import MAILBOX_PASSWORD, Member, Tenant
from tests.web.conftest import MAIL_HOST, SRV_DOMAIN

Login = Callable[[Member], Page]
ADDRESS = f"jan@{SRV_DOMAIN}"


@pytest.fixture
def silent_server() -> Iterator[Listener]:
    """Accepts connections and never answers: a test waits on it until its time limit."""
    listener = Listener()
    yield listener
    listener.close()


def _accounts(runtime: Runtime, tenant: Tenant) -> list[Account]:
    with runtime.tenant(tenant.company_id) as session:
        return list(session.query(Account).all())


def _discover(page: Page, address: str) -> None:
    page.goto("/accounts/new")
    page.locator("#f-email_address").press_sequentially(address, delay=5)


def _step(page: Page, kind: str, name: str) -> object:
    return page.locator(f"#test-panel .probe[data-kind={kind}] .step[data-step={name}]").last


def test_the_wizard_fills_settings_from_dns_tests_them_and_saves(
    page: Page, tenant: Tenant, runtime: Runtime, mailenv: MailEnv, login: Login
) -> None:
    mailbox(mailenv, ADDRESS)
    login(tenant.admin)
    _discover(page, ADDRESS)

    expect(page.locator("#discovery-source")).to_have_text("Rekordy DNS SRV")
    expect(page.locator("#discovery-advice")).to_contain_text("Proponowany login to cały adres")
    expect(page.locator("#f-smtp_host")).to_have_value(MAIL_HOST)
    expect(page.locator("#f-smtp_port")).to_have_value(str(mailenv.submission_port))
    expect(page.locator("#f-smtp_security")).to_have_value("starttls")
    expect(page.locator("#f-smtp_username")).to_have_value(ADDRESS)
    expect(page.locator("#f-incoming_protocol")).to_have_value("imap")
    expect(page.locator("#f-incoming_port")).to_have_value(str(mailenv.imaps_port))
    expect(page.locator("#f-incoming_security")).to_have_value("tls")
    page.fill("#f-display_name", "Jan Kowalski")  # the rest of the form stays usable
    page.fill("#f-mailbox_password", MAILBOX_PASSWORD)

    with page.expect_response(re.compile(r"/accounts/new/test$")) as answer:
        page.click("#test-account")
    # The stream's lines are checked over HTTP (test_setup_http.py); the page has consumed the
    # body here, and Chromium may drop it, so the browser test looks at what the page shows.
    assert answer.value.status == 200

    panel = page.locator("#test-panel")
    expect(panel.locator(".test-summary")).to_contain_text("Wszystkie kroki zakończyły się")
    expect(panel.locator(".probe")).to_have_count(2)
    expect(_step(page, "smtp", "auth")).to_have_attribute("data-status", "ok")
    expect(_step(page, "smtp", "tls")).to_contain_text("Uzgadnianie TLS")
    expect(_step(page, "imap", "select")).to_contain_text("Otwarcie skrzynki odbiorczej")
    expect(panel.locator(".probe[data-kind=imap] .probe-facts")).to_contain_text("TLSv1.")
    assert MAILBOX_PASSWORD not in page.content()

    page.click("#save")
    expect(page.locator(".flash")).to_have_text("Konto zostało utworzone")
    expect(page.locator("#last-success time")).to_be_visible()
    saved = _accounts(runtime, tenant)
    assert [(a.email_address, a.smtp_host, a.incoming_port) for a in saved] == [
        (ADDRESS, MAIL_HOST, mailenv.imaps_port)
    ]
    assert saved[0].display_name == "Jan Kowalski"
    assert saved[0].smtp_password_encrypted and saved[0].incoming_password_encrypted
    page.goto("/accounts")
    row = page.locator(f"tr[data-account-id='{saved[0].id}']")
    expect(row).to_contain_text(ADDRESS)
    expect(row).to_contain_text(f"IMAP · {MAIL_HOST}")
    expect(row.locator("[data-attention]")).to_have_count(0)


def test_steps_show_while_the_test_still_runs(
    page: Page,
    tenant: Tenant,
    runtime: Runtime,
    mailenv: MailEnv,
    login: Login,
    silent_server: Listener,
) -> None:
    runtime.settings.account_test_timeout_seconds = 4.0
    mailbox(mailenv, ADDRESS)
    login(tenant.admin)
    _discover(page, ADDRESS)
    expect(page.locator("#f-incoming_host")).to_have_value(MAIL_HOST)
    page.fill("#f-mailbox_password", MAILBOX_PASSWORD)
    # An incoming server that accepts the connection and stays silent.
    page.fill("#f-incoming_host", "127.0.0.1")
    page.fill("#f-incoming_port", str(silent_server.port))
    page.select_option("#f-incoming_security", "starttls")
    page.click("#test-account")

    # Outgoing is done while incoming still waits for a greeting: the page shows both.
    expect(_step(page, "smtp", "data")).to_have_attribute("data-status", "ok")
    expect(_step(page, "imap", "connect")).to_have_attribute("data-status", "ok")
    expect(_step(page, "imap", "greeting")).to_have_attribute("data-status", "pending")
    expect(page.locator("#test-panel")).to_have_attribute("data-state", "running")
    expect(page.locator("#test-account")).to_be_disabled()

    expect(page.locator("#test-panel")).to_have_attribute("data-state", "failed", timeout=8000)
    greeting = _step(page, "imap", "greeting")
    expect(greeting).to_have_attribute("data-status", "failed")
    expect(greeting.locator(".step-advice")).to_contain_text("prawdopodobnie oczekuje TLS")
    expect(page.locator("#test-account")).to_be_enabled()
    assert _accounts(runtime, tenant) == []


def test_a_wrong_password_shows_the_step_the_words_and_the_advice_and_saves_nothing(
    page: Page, tenant: Tenant, runtime: Runtime, mailenv: MailEnv, login: Login
) -> None:
    mailbox(mailenv, ADDRESS)
    login(tenant.admin)
    _discover(page, ADDRESS)
    expect(page.locator("#f-smtp_host")).to_have_value(MAIL_HOST)
    page.fill("#f-mailbox_password", "not-the-mailbox-password")
    page.click("#test-account")

    auth = _step(page, "smtp", "auth")
    expect(auth).to_have_attribute("data-status", "failed")
    expect(auth.locator(".server-words")).to_contain_text("535")
    expect(auth.locator(".step-advice")).to_contain_text("nie o hasło do Postroom")
    expect(page.locator("#test-panel .test-summary")).to_contain_text(
        "Nieudany krok: Logowanie (Poczta wychodząca)."
    )

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#save")
    assert answer.value.status == 409
    expect(page.locator("#test-refused")).to_contain_text("Konto nie zostało zapisane")
    auth = _step(page, "smtp", "auth")
    expect(auth.locator(".server-words")).to_contain_text("535")
    expect(auth.locator(".step-advice")).to_contain_text("Sprawdź login")
    # The input is kept, the passwords are not: they are asked for again.
    expect(page.locator("#f-email_address")).to_have_value(ADDRESS)
    expect(page.locator("#f-smtp_host")).to_have_value(MAIL_HOST)
    expect(page.locator("#f-mailbox_password")).to_have_value("")
    expect(page.locator("#hint-mailbox_password")).to_have_text("Wpisz hasło ponownie.")
    assert "not-the-mailbox-password" not in page.content()
    assert _accounts(runtime, tenant) == []


def test_missing_settings_are_named_instead_of_testing(
    page: Page, tenant: Tenant, runtime: Runtime, login: Login
) -> None:
    login(tenant.admin)
    _discover(page, "ktos@nieznana-domena.example.test")
    expect(page.locator("#discovery-source")).to_have_text("Nic nie znaleziono")
    page.click("#test-account")
    refused = page.locator("#test-panel .test-refused")
    expect(refused).to_contain_text("Tych ustawień nie da się jeszcze przetestować")
    expect(refused).to_contain_text("Wychodząca · Serwer: To pole jest wymagane.")
    assert _accounts(runtime, tenant) == []
