"""The client pages in Debian's chromium: SMS turned on with the cost accepted, channel
switches toggled in the list, a message sent from the client page with its outcome and
history row, and a reminder on its day in the calendar."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from postroom.services.runtime import Runtime
from tests.clients_web.support import make_client, make_contact, next_month, zus_on_the_tenth
from tests.support import Member, Tenant

Login = Callable[[Member], Page]


def test_sms_is_turned_on_with_the_cost_accepted(login: Login, tenant: Tenant) -> None:
    page = login(tenant.admin)
    page.locator(".mainnav").get_by_role("link", name="Ustawienia biura").click()
    expect(page.locator("#price-list-name")).to_have_text("standard-2026")
    expect(page.locator("#sms-state")).to_contain_text("SMS wyłączone")
    page.click("#sms-enable")  # without the box ticked: refused, with the reason
    expect(page.locator("#sms-error")).to_contain_text("wymaga akceptacji kosztu")
    page.check("#f-accept-cost")
    page.click("#sms-enable")
    expect(page.locator("#sms-state")).to_contain_text("SMS włączone")
    expect(page.locator("#acceptance-record")).to_contain_text(tenant.admin.email)
    expect(page.locator("#acceptance-record")).to_contain_text("standard-2026")
    page.click("#sms-disable")
    expect(page.locator("#revocation-record")).to_contain_text(tenant.admin.email)


def test_channels_are_toggled_in_the_list(login: Login, runtime: Runtime, tenant: Tenant) -> None:
    client_id = make_client(runtime, tenant, "Rho Sp. z o.o.")
    page = login(tenant.admin)
    page.locator(".mainnav").get_by_role("link", name="Klienci").click()
    row = page.locator(f'tr[data-client-id="{client_id}"]')
    for channel, state in (("email", "false"), ("sms", "false"), ("inapp", "true")):
        expect(row.locator(f'[data-channel="{channel}"]')).to_have_attribute("aria-checked", state)
    expect(row.locator('[data-channel="webpush"]')).to_have_attribute("aria-checked", "true")

    row.locator('[data-channel="email"]').click()
    expect(row.locator('[data-channel="email"]')).to_have_attribute("aria-checked", "true")
    row.locator('[data-channel="webpush"]').click()
    expect(row.locator('[data-channel="webpush"]')).to_have_attribute("aria-checked", "false")
    row.locator('[data-channel="sms"]').click()
    expect(row.locator(".switch-error")).to_contain_text("SMS nie są włączone dla biura")
    expect(row.locator('[data-channel="sms"]')).to_have_attribute("aria-checked", "false")

    page.reload()
    row = page.locator(f'tr[data-client-id="{client_id}"]')
    expect(row.locator('[data-channel="email"]')).to_have_attribute("aria-checked", "true")
    expect(row.locator('[data-channel="webpush"]')).to_have_attribute("aria-checked", "false")


def test_a_message_is_sent_from_the_client_page(
    login: Login, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant, "Sigma S.A.")
    make_contact(runtime, tenant, client_id, "anna@sigma.pl", phone="+48 600 100 200")
    page = login(tenant.admin)
    page.goto(f"/clients/{client_id}")
    expect(page.locator("#history-empty")).to_be_visible()
    expect(page.locator(".push-state")).to_contain_text("Brak zapisanej przeglądarki")
    page.click(".make-push-link")
    expect(page.locator(".push-url")).to_have_value(re.compile(r"/push/[\w-]+$"))
    page.click(".copy-button")
    expect(page.locator(".copy-button")).to_have_text("Skopiowano")
    page.fill("#f-subject", "Termin płatności VAT")
    page.fill("#f-text", "Prosimy o wpłatę VAT do 25 listopada.")
    page.locator("#f-sms-text").press_sequentially("Zażółć")
    expect(page.locator("#sms-encoding")).to_have_text("UCS-2")
    expect(page.locator("#sms-segments")).to_have_attribute("data-segments", "1")
    page.click("#send-message-button")
    outcome = page.locator("#outcome")
    expect(outcome.locator('li[data-channel="inapp"]')).to_be_visible()
    expect(outcome.locator('li[data-channel="webpush"]')).to_contain_text("Pominięta")
    # The reason, kept in English in the history, reads in the page's language.
    expect(outcome.locator('li[data-channel="webpush"]')).to_contain_text(
        "Żadna przeglądarka nie subskrybuje powiadomień klienta"
    )
    history = page.locator("#history-table")
    expect(history.locator('tr[data-channel="webpush"]')).to_contain_text(
        "wyślij osobom kontaktowym link do strony subskrypcji"
    )
    expect(history.locator('tr[data-channel="inapp"]')).to_contain_text("Termin płatności VAT")
    expect(history.locator("tbody tr")).to_have_count(2)


def test_the_calendar_shows_a_reminder_on_its_day(
    login: Login, runtime: Runtime, tenant: Tenant
) -> None:
    zus_on_the_tenth(runtime, tenant)
    client_id = make_client(runtime, tenant, "Tau Handel")
    page = login(tenant.admin)
    page.locator(".mainnav").get_by_role("link", name="Terminarz przypomnień").click()
    page.click("#next-month")
    month = next_month(runtime)
    expect(page.locator("#calendar-month")).to_have_attribute("data-month", month.strftime("%Y-%m"))
    tenth = page.locator(f'td[data-day="{month.strftime("%Y-%m")}-10"]')
    entry = tenth.locator(f'li[data-client-id="{client_id}"][data-kind="zus"]')
    expect(entry).to_contain_text("Składki ZUS")
    expect(entry).to_contain_text("Tau Handel")
    page.click("#list-view")
    expect(page.locator(f'[data-list-day="{month.strftime("%Y-%m")}-10"]')).to_be_visible()
