"""A saved account's page in chromium: "Test account", a refused change, health, OAuth2."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pydantic import SecretStr

from postroom.db.models import Account
from postroom.enums import AuthMethod, Role
from postroom.services.runtime import Runtime
from tests.api.helpers import mailbox
from tests.fixtures.mailenv import MailEnv
from tests.fixtures.oauth_server import FakeOAuthServer
from tests.support import MAILBOX_PASSWORD, Member, Tenant
from tests.web.conftest import LiveServer, make_account

Login = Callable[[Member], Page]
ADDRESS = "biuro@alfa.example.test"


def _account(runtime: Runtime, tenant: Tenant, account_id: int) -> Account:
    with runtime.tenant(tenant.company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None
        session.expunge(account)
        return account


def _working_account(runtime: Runtime, tenant: Tenant, mailenv: MailEnv) -> int:
    mailbox(mailenv, ADDRESS)
    return make_account(
        runtime,
        tenant,
        ADDRESS,
        smtp_host=mailenv.host,
        smtp_port=mailenv.submission_port,
        smtp_security="starttls",
        smtp_password=MAILBOX_PASSWORD,
    )


def mark(runtime: Runtime, tenant: Tenant, account_id: int, **fields: Any) -> None:
    with runtime.tenant(tenant.company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None
        for name, value in fields.items():
            setattr(account, name, value)


def test_the_account_page_tests_the_settings_and_refuses_a_failing_change(
    page: Page, tenant: Tenant, runtime: Runtime, mailenv: MailEnv, login: Login
) -> None:
    account_id = _working_account(runtime, tenant, mailenv)
    login(tenant.admin)
    page.goto(f"/accounts/{account_id}")
    expect(page.locator("#last-success")).to_have_text("nigdy")
    expect(page.locator("#test-panel")).to_have_attribute("data-state", "idle")

    page.click("#test-account")
    expect(page.locator("#test-panel")).to_have_attribute("data-state", "passed")
    expect(page.locator("#test-panel .probe[data-kind=smtp] .step")).not_to_have_count(0)
    assert _account(runtime, tenant, account_id).last_success_at is not None  # health counted
    page.reload()
    expect(page.locator("#last-success time")).to_be_visible()
    expect(page.locator("#test-panel .test-summary")).to_contain_text("Wynik ostatniego testu.")

    page.fill("#f-smtp_password", "not-the-mailbox-password")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#save")
    assert answer.value.status == 409
    expect(page.locator("#test-refused")).to_be_visible()
    auth = page.locator("#test-panel .probe[data-kind=smtp] .step[data-step=auth]")
    expect(auth).to_have_attribute("data-status", "failed")
    expect(auth.locator(".server-words")).to_contain_text("535")
    expect(page.locator("#hint-smtp_password")).to_have_text("Wpisz hasło ponownie.")
    saved = _account(runtime, tenant, account_id)
    assert runtime.secret_box.decrypt(saved.smtp_password_encrypted or "").reveal() == (
        MAILBOX_PASSWORD
    )


def test_an_account_needing_attention_is_shown_to_its_owner_and_the_administrators(
    page: Page, tenant: Tenant, runtime: Runtime, login: Login
) -> None:
    anna, piotr = tenant.add_user(Role.USER), tenant.add_user(Role.USER)
    account_id = make_account(runtime, tenant, "anna@alfa.example.test", owner_user_id=anna.id)
    make_account(runtime, tenant, "piotr@alfa.example.test", owner_user_id=piotr.id)
    mark(
        runtime,
        tenant,
        account_id,
        needs_attention=True,
        attention_reason="auth_failures",
        consecutive_auth_failures=10,
        last_error="535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6",
    )

    login(anna)
    notice = page.locator("#attention-notice")
    expect(notice).to_contain_text("Konto wymaga Twojej uwagi")
    expect(notice).to_contain_text("anna@alfa.example.test — serwer odrzuca logowanie")
    row = page.locator(f"tr[data-account-id='{account_id}']")
    expect(row.locator("[data-attention]")).to_have_text("Wymaga uwagi")

    notice.get_by_role("link", name="anna@alfa.example.test").click()
    banner = page.locator("#attention-banner")
    expect(banner).to_contain_text("Postroom wstrzymał pobieranie jego poczty")
    expect(banner).to_contain_text("Serwer odrzucił logowanie 10 razy z rzędu.")
    expect(banner.locator("#attention-error q")).to_have_text(
        "535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6"
    )
    expect(banner.locator(".attention-todo")).to_contain_text("wpisz poniżej aktualne hasło")
    expect(page.locator("#health-state")).to_have_text("Wymaga uwagi")
    expect(page.locator("#last-success")).to_have_text("nigdy")

    page.goto("/accounts?active=attention")
    expect(page.locator(".accounts-table tbody tr")).to_have_count(1)

    page.get_by_role("button", name="Wyloguj").click()
    login(piotr)  # not his account, and he is no administrator
    expect(page.locator("#attention-notice")).to_have_count(0)
    page.get_by_role("button", name="Wyloguj").click()
    login(tenant.admin)
    expect(page.locator("#attention-notice")).to_contain_text("anna@alfa.example.test")


@pytest.fixture
def google(live_server: LiveServer, oauth_server: FakeOAuthServer) -> FakeOAuthServer:
    """The local OAuth server as this deployment's "Google"; the callback comes back here."""
    settings = live_server.runtime.settings
    settings.public_url = live_server.url
    settings.google_client_id = oauth_server.client_id
    settings.google_client_secret = SecretStr(oauth_server.client_secret)
    settings.google_authorize_url = oauth_server.authorize_url
    settings.google_token_url = oauth_server.token_url
    return oauth_server


def _gmail_account(runtime: Runtime, tenant: Tenant, **fields: Any) -> int:
    return make_account(
        runtime,
        tenant,
        "firma@gmail.com",
        smtp_host="smtp.gmail.com",
        smtp_port=465,
        smtp_security="tls",
        incoming_protocol="imap",
        incoming_host="imap.gmail.com",
        **fields,
    )


def test_connect_with_google_goes_to_the_provider_and_back(
    page: Page, tenant: Tenant, runtime: Runtime, login: Login, google: FakeOAuthServer
) -> None:
    account_id = _gmail_account(runtime, tenant)
    login(tenant.admin)
    page.goto(f"/accounts/{account_id}")
    expect(page.locator("#oauth-state")).to_contain_text("Jeszcze nie połączono")
    expect(page.locator("#oauth-microsoft")).to_have_count(0)  # not configured, not offered

    with page.expect_request(re.compile(re.escape(google.authorize_url))) as sent:
        page.click("#oauth-google")
    assert "code_challenge_method=S256" in sent.value.url
    assert "login_hint=firma%40gmail.com" in sent.value.url
    # The local provider approves at once and sends the browser back through the callback.
    expect(page).to_have_url(re.compile(rf"/accounts/{account_id}\?oauth=connected$"))
    expect(page.locator("#oauth-outcome")).to_have_text(
        "Konto jest połączone: Postroom loguje się teraz w jego imieniu."
    )
    expect(page.locator("#oauth-state")).to_have_text("Połączono z kontem Google")
    expect(page.locator("#oauth-google")).to_have_text("Połącz ponownie z kontem Google")
    account = _account(runtime, tenant, account_id)
    assert account.oauth_refresh_token_encrypted is not None
    assert (account.smtp_auth, account.incoming_auth) == (AuthMethod.OAUTH2, AuthMethod.OAUTH2)


def test_a_refused_sign_in_shows_why_and_a_withdrawn_one_asks_to_reconnect(
    page: Page, tenant: Tenant, runtime: Runtime, login: Login, google: FakeOAuthServer
) -> None:
    account_id = _gmail_account(runtime, tenant)
    google.configure(deny_consent=True)
    login(tenant.admin)
    page.goto(f"/accounts/{account_id}")
    page.click("#oauth-google")
    expect(page).to_have_url(re.compile(r"oauth=failed&oauth_error=access_denied$"))
    expect(page.locator("#oauth-outcome")).to_have_text(
        "Odmówiono dostępu u dostawcy, więc konto nie zostało połączone."
    )

    mark(
        runtime,
        tenant,
        account_id,
        smtp_auth=AuthMethod.OAUTH2,
        oauth_provider="google",
        needs_attention=True,
        attention_reason="oauth_reconnect",
        last_error="invalid_grant: Token has been expired or revoked.",
    )
    page.goto(f"/accounts/{account_id}")
    expect(page.locator("#attention-notice")).to_contain_text("zaloguj się ponownie u dostawcy")
    banner = page.locator("#attention-banner")
    expect(banner).to_contain_text("Dostawca nie akceptuje już dostępu Postroom")
    expect(banner.locator("#attention-error q")).to_have_text(
        "invalid_grant: Token has been expired or revoked."
    )
    expect(banner.locator("#reconnect-google")).to_have_text("Połącz ponownie z kontem Google")
    google.configure(deny_consent=False)
    banner.locator("#reconnect-google").click()
    expect(page).to_have_url(re.compile(r"oauth=connected$"))
    expect(page.locator("#attention-banner")).to_have_count(0)
    expect(page.locator("#attention-notice")).to_have_count(0)
