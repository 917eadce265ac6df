"""The campaign wizard and the live progress view in Debian's chromium; the service's own
worker feeds the campaign and delivers it to the real Postfix of the mailenv fixture."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Dialog, Page, expect

from postroom.enums import AuthMethod, EmailMode, Security
from postroom.services.runtime import Runtime
from tests.api.helpers import mailbox
from tests.campaigns.support import INVOICE_HTML
from tests.fixtures.mailenv import MailEnv
from tests.services.relay_support import set_company
from tests.support import MAILBOX_PASSWORD, Member, Tenant
from tests.web.conftest import LiveServer
from tests.worker.outbox_support import make_account, wait_for_file_with

Login = Callable[[Member], Page]
SENDER = "kampanie-web@example.test"
RECIPIENT = "odbiorca-kampanii@example.test"
SLOW = 30_000  # ms: the worker's feeding and delivery through Postfix, seen by the page itself


def _sending(runtime: Runtime, tenant: Tenant, mailenv: MailEnv, **limits: Any) -> int:
    set_company(runtime, tenant.company_id, email_mode=EmailMode.OWN)
    for address in (SENDER, RECIPIENT):
        mailbox(mailenv, address)
    return make_account(
        runtime,
        tenant.company_id,
        email_address=SENDER,
        display_name="Biuro Alfa",
        smtp_host=mailenv.host,
        smtp_port=mailenv.submission_port,
        smtp_security=Security.STARTTLS,
        smtp_auth=AuthMethod.PASSWORD,
        smtp_username=SENDER,
        password=MAILBOX_PASSWORD,
        **limits,
    )


def _api(server: LiveServer, member: Member, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/api/v1{path}", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _template(server: LiveServer, member: Member) -> dict[str, Any]:
    body = {
        "name": "Faktura miesięczna",
        "document_kind": "invoice",
        "subject": "Faktura {{ invoice_no }}",
        "html": INVOICE_HTML,
    }
    return _api(server, member, "/templates", body)


def test_the_wizard_from_template_to_delivered(
    login: Login, live_server: LiveServer, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    account = _sending(runtime, tenant, mailenv)
    _template(live_server, tenant.admin)
    page = login(tenant.admin)

    page.locator(".mainnav").get_by_role("link", name="Kampanie").click()
    page.click("#new-campaign")
    expect(page.locator(".wizard-step-current")).to_contain_text("Szablon")
    page.fill("#f-name", "Faktury grudzień")
    page.select_option("#f-template", label="Faktura miesięczna")
    page.click("#next")

    expect(page.locator(".wizard-step-current")).to_contain_text("Odbiorcy")
    page.fill(
        "#f-pasted",
        f"email;name;invoice_no;amount\n{RECIPIENT};Jan Kowalski;FV/12/2026;1 234,56\n"
        "nie-adres;Anna;FV/13/2026;10\n",
    )
    page.click("#add-rows")
    expect(page.locator("#report-valid")).to_have_text("1")
    expect(page.locator("#report-invalid")).to_have_text("1")
    expect(page.locator('#report-problems tr[data-row="3"]')).to_contain_text(
        "nie jest poprawnym adresem e-mail"
    )
    page.click("#next")

    expect(page.locator(".wizard-step-current")).to_contain_text("Nadawca")
    page.select_option("#f-sender", value=str(account))
    page.click("#next")
    expect(page.locator(".wizard-step-current")).to_contain_text("Termin")
    page.check("#f-start-now")
    page.click("#next")

    expect(page.locator("#confirm-sender")).to_have_text(SENDER)
    page.check("#f-send-valid-only")
    page.click("#start")
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))
    # The progress block refreshes itself (htmx) while the worker feeds and sends.
    expect(page.locator("#campaign-status")).to_have_text("Zakończona", timeout=SLOW)
    expect(page.locator('[data-count="sent"] strong')).to_have_text("1")
    expect(page.locator('[data-count="invalid"] strong')).to_have_text("1")
    expect(page.locator("#progress-done")).to_have_text("2 z 2")
    expect(page.locator("#campaign-progress")).not_to_have_attribute("hx-trigger", re.compile("."))
    expect(page.locator('#campaign-rows tr[data-row="2"]')).to_have_attribute("data-status", "sent")

    delivered = wait_for_file_with(mailenv.maildir(RECIPIENT), b"FV/12/2026")
    assert b"Jan Kowalski" in delivered.read_bytes()


def test_the_progress_view_pauses_resumes_and_cancels(
    login: Login, live_server: LiveServer, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    # One message a day: the first goes, the others wait for the window (no timing involved).
    account = _sending(runtime, tenant, mailenv, send_limit_per_day=1)
    template = _template(live_server, tenant.admin)
    recipients = [
        {
            "email": f"odbiorca{n}-kampanii@example.test",
            "name": f"Klient {n}",
            "variables": {"invoice_no": f"FV/{n}", "amount": "10"},
        }
        for n in range(1, 4)
    ]
    for row in recipients:
        mailbox(mailenv, str(row["email"]))
    campaign = _api(
        live_server,
        tenant.admin,
        "/campaigns",
        {
            "name": "Przypomnienia",
            "template_id": template["id"],
            "account_id": account,
            "recipients": recipients,
            "start": True,
        },
    )
    page = login(tenant.admin)
    page.goto(f"/campaigns/{campaign['id']}")
    expect(page.locator('[data-count="sent"] strong')).to_have_text("1", timeout=SLOW)
    expect(page.locator('[data-count="pending"] strong')).to_have_text("2")
    expect(page.locator("#campaign-status")).to_have_text("Wysyłanie")

    page.click("#pause")
    expect(page.locator("#campaign-status")).to_have_text("Wstrzymana")
    expect(page.locator("#pause")).to_have_count(0)
    page.click("#resume")
    expect(page.locator("#campaign-status")).to_have_text("Wysyłanie")

    def accept(dialog: Dialog) -> None:
        assert "Anulować kampanię?" in dialog.message
        dialog.accept()

    page.once("dialog", accept)
    page.click("#cancel")
    expect(page.locator("#campaign-status")).to_have_text("Anulowana")
    expect(page.locator('[data-count="cancelled"] strong')).to_have_text("2")
    expect(page.locator('[data-count="sent"] strong')).to_have_text("1")
    expect(page.locator("#cancel")).to_have_count(0)
