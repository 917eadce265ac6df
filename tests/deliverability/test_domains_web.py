"""The sender domains page and the sender-domain section of the account page, over HTTP and in
a real Chromium."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from postroom.services.runtime import Runtime
from tests.api.helpers import DEFAULT_ADDRESS, working_settings
from tests.fixtures.dns_server import Zone
from tests.fixtures.mailenv import MailEnv
from tests.support import Member, Tenant
from tests.web.conftest import browser, live_server, login, page, web_login

__all__ = ["browser", "live_server", "login", "page"]  # the web UI fixtures, used here too

DOMAIN = DEFAULT_ADDRESS.rpartition("@")[2]


def _record(html: str) -> tuple[str, str]:
    name = re.search(r'<dd class="mono">(postroom\._domainkey\.[^<]+)</dd>', html)
    value = re.search(r'<code class="record-value">(v=DKIM1; k=rsa; p=[^<]+)</code>', html)
    assert name and value, html
    return name.group(1), value.group(1)


def test_an_administrator_adds_publishes_and_verifies_a_domain(
    client: TestClient, tenant: Tenant, dns_zone: Zone
) -> None:
    csrf = web_login(client, tenant.admin)
    added = client.post(
        "/domains", data={"domain": "Biuro.test", "csrf_token": csrf}, follow_redirects=False
    )
    assert (added.status_code, added.headers["location"]) == (303, "/domains?done=added")
    page = client.get("/domains?done=added").text
    assert "Domena dodana." in page and 'data-verified="no"' in page
    name, value = _record(page)
    assert name == "postroom._domainkey.biuro.test"
    domain_id = re.search(r'action="/domains/(\d+)/verify"', page)
    assert domain_id

    dns_zone.txt(name, value)
    verified = client.post(
        f"/domains/{domain_id.group(1)}/verify", data={"csrf_token": csrf}, follow_redirects=True
    ).text
    assert "Rekord jest opublikowany" in verified and 'data-verified="yes"' in verified
    assert 'data-check="dkim" data-status="ok"' in verified
    assert "Klucz DKIM, którym podpisuje Postroom, jest opublikowany" in verified
    assert "PRIVATE KEY" not in verified


def test_a_bad_domain_is_shown_next_to_the_field(client: TestClient, tenant: Tenant) -> None:
    csrf = web_login(client, tenant.admin)
    response = client.post("/domains", data={"domain": "nie domena", "csrf_token": csrf})
    assert response.status_code == 422
    assert "To nie jest nazwa domeny" in response.text
    assert 'value="nie domena"' in response.text


def test_a_user_sees_the_domains_but_cannot_change_them(client: TestClient, tenant: Tenant) -> None:
    csrf = web_login(client, tenant.admin)
    client.post("/domains", data={"domain": "biuro.test", "csrf_token": csrf})
    client.cookies.clear()
    user: Member = tenant.add_user()
    user_csrf = web_login(client, user)
    page = client.get("/domains").text
    assert "biuro.test" in page and 'id="add-domain"' not in page
    domain_id = re.search(r'data-domain="biuro.test"', page)
    assert domain_id
    refused = client.post("/domains", data={"domain": "inna.test", "csrf_token": user_csrf})
    assert refused.status_code == 403 and "Tylko administrator" in refused.text


def test_the_account_page_shows_the_checks_of_its_last_test(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, dns_zone: Zone
) -> None:
    dns_zone.txt(DOMAIN, "v=spf1 ip4:192.0.2.1 -all")
    dns_zone.txt(f"_dmarc.{DOMAIN}", "v=DMARC1; p=reject")
    created = client.post(
        "/api/v1/accounts", headers=tenant.admin.headers, json=working_settings(mailenv)
    )
    assert created.status_code == 201, created.text
    web_login(client, tenant.admin)
    page = client.get(f"/accounts/{created.json()['id']}").text
    assert 'class="domain-checks domain-bad"' in page
    assert 'data-check="spf" data-status="failing"' in page
    assert "Gmail i Outlook odrzucą pocztę z adresu biuro@alfa.example.test" in page
    assert f"v=spf1 ip4:192.0.2.1 ip4:{mailenv.host} -all" in page  # the record to publish


def test_in_the_browser_the_test_panel_shows_what_to_publish(
    page: Page,
    login: Callable[[Member], Page],
    tenant: Tenant,
    runtime: Runtime,
    mailenv: MailEnv,
    dns_zone: Zone,
) -> None:
    dns_zone.txt(f"_dmarc.{DOMAIN}", "v=DMARC1; p=quarantine")
    login(tenant.admin)
    page.goto("/domains")
    page.fill("#f-domain", "biuro.test")
    page.click("#add-domain")
    expect(page.locator(".flash-success")).to_contain_text("Domena dodana")
    card = page.locator('[data-domain="biuro.test"]')
    expect(card).to_have_attribute("data-verified", "no")
    value = card.locator("code.record-value").first.inner_text()
    dns_zone.txt("postroom._domainkey.biuro.test", value)
    card.locator("button.verify-domain").click()
    expect(page.locator('[data-domain="biuro.test"]')).to_have_attribute("data-verified", "yes")
    expect(page.locator('[data-check="dkim"]').first).to_have_attribute("data-status", "ok")
