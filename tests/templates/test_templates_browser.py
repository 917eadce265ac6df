"""The template editor in Debian's chromium: write, preview with variables, see a missing
variable with its line, save versions and look at an old one."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.support import Member, Tenant

Login = Callable[[Member], Page]
HTML_V1 = "<p>Dzień dobry {{ client.name }},</p>\n<p>do zapłaty {{ amount|money('PLN') }}</p>"
VARIABLES = "invoice_no=FV/1/2026\nclient.name=Gamma sp. z o.o.\namount=1234.56"


def test_write_preview_and_save_versions(login: Login, tenant: Tenant) -> None:
    page = login(tenant.admin)
    page.goto("/templates")
    page.click("#new-template")
    page.fill("#f-name", "Faktura")
    page.select_option("#f-document_kind", "invoice")
    page.fill("#f-subject", "Faktura {{ invoice_no }}")
    page.fill("#f-html", HTML_V1)
    page.fill("#f-variables", VARIABLES)

    expect(page.locator("#preview-subject")).to_have_text("Faktura FV/1/2026")
    frame = page.frame_locator("#preview-html")
    expect(frame.locator("p").first).to_have_text("Dzień dobry Gamma sp. z o.o.,")
    expect(frame.locator("p").nth(1)).to_have_text(re.compile(r"do zapłaty 1\s234,56\szł"))
    expect(page.locator("#preview-text")).to_have_value(re.compile(r"Dzień dobry Gamma"))

    # Without `amount`, the preview names the line and the variable instead.
    page.fill("#f-variables", "invoice_no=FV/1/2026\nclient.name=Gamma sp. z o.o.")
    expect(page.locator("#preview-error")).to_have_text(
        "Wiersz 2, treść HTML: zmienna „amount” nie ma wartości."
    )
    page.fill("#f-variables", VARIABLES)
    expect(page.locator("#preview-subject")).to_have_text("Faktura FV/1/2026")

    page.click("#save-template")
    expect(page).to_have_url(re.compile(r"/templates/\d+\?done=created$"))
    expect(page.locator("#current-version")).to_have_text("Wersja 1")

    page.fill("#f-html", HTML_V1 + "\n<p>Pozdrawiamy</p>")
    page.click("#save-template")
    expect(page).to_have_url(re.compile(r"\?done=saved$"))
    expect(page.locator("#current-version")).to_have_text("Wersja 2")
    expect(page.locator("#template-history tbody tr")).to_have_count(2)

    page.click("#template-history tr[data-version='1'] a")
    expect(page.locator("#version-title")).to_have_text("Wersja 1")
    expect(page.locator("#v-html")).to_have_value(HTML_V1)


def test_a_syntax_error_keeps_what_was_typed(login: Login, tenant: Tenant) -> None:
    page = login(tenant.admin)
    page.goto("/templates/new")
    page.fill("#f-name", "Zły")
    page.fill("#f-subject", "Temat")
    page.fill("#f-html", "<p>a</p>\n<p>{{ name }</p>")
    expect(page.locator("#preview-error")).to_contain_text("Wiersz 2, treść HTML: błąd składni")
    page.click("#save-template")
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator("#err-html")).to_contain_text("Wiersz 2, treść HTML")
    expect(page.locator("#f-html")).to_have_value("<p>a</p>\n<p>{{ name }</p>")
