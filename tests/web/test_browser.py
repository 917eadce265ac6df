"""The web UI in Debian's chromium: login, languages, the account form, bulk edit, access."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from postroom.db.models import Account, User
from postroom.enums import AccessMode, Language, Role
from postroom.services import groups, projects
from postroom.services.runtime import Runtime
from tests.api.helpers import mailbox
from tests.fixtures.mailenv import MailEnv
from tests.support import INCOMING_PASSWORD, MAILBOX_PASSWORD, Member, Tenant
from tests.web.conftest import make_account

Login = Callable[[Member], Page]
INCOMING_LOGIN = "biuro-imap@alfa.example.test"


def _load(runtime: Runtime, tenant: Tenant, model: type[Account | User], row_id: int) -> object:
    with runtime.tenant(tenant.company_id) as session:
        row = session.get(model, row_id)
        assert row is not None
        if isinstance(row, Account):
            _ = row.grants, row.projects  # loaded while the session is open
        return row


def test_login_refuses_a_wrong_password_then_shows_the_empty_list(
    page: Page, tenant: Tenant
) -> None:
    page.goto("/accounts")
    expect(page).to_have_url(re.compile(r"/login\?next=/accounts$"))
    page.fill("#email", tenant.admin.email)
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Nieprawidłowy adres e-mail lub hasło.")
    expect(page.locator("#email")).to_have_value(tenant.admin.email)
    expect(page.locator("#password")).to_have_value("")

    page.fill("#password", tenant.admin.password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts$"))
    expect(page.locator("h1")).to_have_text("Konta")
    empty = page.locator(".empty-state")
    expect(empty.locator("h2")).to_have_text("Nie ma jeszcze żadnych kont")
    expect(empty.get_by_role("link", name="Nowe konto")).to_have_attribute("href", "/accounts/new")
    expect(page.locator(".accounts-table")).to_have_count(0)


def test_language_switch_on_the_login_page_and_in_the_header(
    page: Page, tenant: Tenant, runtime: Runtime
) -> None:
    page.goto("/login")
    expect(page.locator("h1")).to_have_text("Zaloguj się")
    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_have_text("Log in")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # The language picked on the login page becomes the user's.
    page.fill("#email", tenant.admin.email)
    page.fill("#password", tenant.admin.password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Accounts")
    expect(page.locator(".empty-state h2")).to_have_text("No accounts yet")
    assert _load(runtime, tenant, User, tenant.admin.id).language is Language.EN  # type: ignore[attr-defined]

    page.locator(".lang-switch button[value=pl]").click()
    expect(page.locator("h1")).to_have_text("Konta")
    page.reload()
    expect(page.locator("h1")).to_have_text("Konta")
    assert _load(runtime, tenant, User, tenant.admin.id).language is Language.PL  # type: ignore[attr-defined]

    page.locator(".lang-switch button[value=en]").click()
    expect(page.get_by_role("link", name="New account").first).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("h1")).to_have_text("Log in")  # the login page keeps the language
    expect(page.locator(".flash")).to_have_text("You have been logged out")


def _fill_every_section(
    page: Page, mailenv: MailEnv, user: Member, group_id: int, project_id: int
) -> None:
    page.fill("#f-email_address", "biuro@alfa.example.test")
    page.fill("#f-display_name", "Biuro Alfa")
    page.fill("#f-reply_to", "odpowiedzi@alfa.example.test")
    page.fill("#f-name", "Skrzynka biura")
    page.select_option("#f-owner_user_id", "company")
    # The local Postfix and Dovecot: the account is saved only if its test passes.
    page.fill("#f-smtp_host", mailenv.host)
    page.fill("#f-smtp_port", str(mailenv.smtps_port))
    page.select_option("#f-smtp_security", "tls")
    page.select_option("#f-smtp_cipher_level", "strong")
    page.select_option("#f-smtp_auth", "password")
    page.fill("#f-smtp_username", "biuro@alfa.example.test")
    page.fill("#f-smtp_password", MAILBOX_PASSWORD)
    page.select_option("#f-incoming_protocol", "imap")
    page.fill("#f-incoming_host", mailenv.host)
    page.fill("#f-incoming_port", str(mailenv.imaps_port))
    page.select_option("#f-incoming_security", "tls")
    page.select_option("#f-incoming_cipher_level", "medium")
    page.select_option("#f-incoming_auth", "cram_md5")
    page.fill("#f-incoming_username", INCOMING_LOGIN)
    page.fill("#f-incoming_password", INCOMING_PASSWORD)
    page.uncheck("#f-leave_on_server")
    page.check("#f-delete_on_server_when_purged")
    page.uncheck("#f-notifications")
    page.check("#f-create_contacts")
    page.check("#f-create_tasks")
    page.fill("#f-fetch_interval_minutes", "10")
    page.fill("#f-fetch_since", "2025-01-01")
    page.fill("#f-sent_folder", "Wysłane")
    page.fill("#f-drafts_folder", "Szkice")
    page.fill("#f-header_html", "<p>Biuro Rachunkowe Alfa</p>")
    page.fill("#f-signature_html", "<p>Pozdrawiam<br>Alfa</p><script>alert(1)</script>")
    page.check("#f-autoresponder_enabled")
    page.fill("#f-autoresponder_from", "2025-07-01")
    page.fill("#f-autoresponder_until", "2025-07-14")
    page.fill("#f-autoresponder_subject", "Urlop")
    page.fill("#f-autoresponder_text", "Wracamy 15 lipca.")
    page.check("input[name=access_mode][value=listed]")
    page.check(f"input[name=access_user_ids][value='{user.id}']")
    page.check(f"input[name=access_group_ids][value='{group_id}']")
    page.check(f"input[name=project_ids][value='{project_id}']")


def _assert_saved(
    account: Account, mailenv: MailEnv, user: Member, group_id: int, project_id: int
) -> None:
    assert (account.email_address, account.display_name) == (
        "biuro@alfa.example.test",
        "Biuro Alfa",
    )
    assert (account.reply_to, account.name, account.owner_user_id) == (
        "odpowiedzi@alfa.example.test",
        "Skrzynka biura",
        None,
    )
    assert (account.smtp_host, account.smtp_port, account.smtp_security.value) == (
        mailenv.host,
        mailenv.smtps_port,
        "tls",
    )
    assert (account.smtp_cipher_level.value, account.smtp_username) == (
        "strong",
        "biuro@alfa.example.test",
    )
    assert (account.incoming_protocol.value, account.incoming_port) == ("imap", mailenv.imaps_port)
    assert account.incoming_username == INCOMING_LOGIN
    assert (account.incoming_cipher_level.value, account.incoming_auth.value) == (
        "medium",
        "cram_md5",
    )
    assert account.smtp_password_encrypted and account.incoming_password_encrypted
    assert not account.leave_on_server and not account.notifications
    assert account.delete_on_server_when_purged and account.create_contacts
    assert account.create_tasks and account.fetch_interval_minutes == 10
    assert str(account.fetch_since) == "2025-01-01"
    assert (account.sent_folder, account.drafts_folder) == ("Wysłane", "Szkice")
    assert "<script>" not in account.signature_html and "Pozdrawiam" in account.signature_html
    assert account.autoresponder_enabled and account.autoresponder_subject == "Urlop"
    assert str(account.autoresponder_until) == "2025-07-14"
    assert account.access_mode is AccessMode.LISTED
    assert {(g.user_id, g.group_id) for g in account.grants} == {(user.id, None), (None, group_id)}
    assert [p.project_id for p in account.projects] == [project_id]


def test_creating_an_account_with_every_section_filled(
    page: Page, tenant: Tenant, runtime: Runtime, mailenv: MailEnv, login: Login
) -> None:
    mailbox(mailenv, "biuro@alfa.example.test", MAILBOX_PASSWORD)
    mailbox(mailenv, INCOMING_LOGIN, INCOMING_PASSWORD)
    user = tenant.add_user(Role.USER)
    with runtime.tenant(tenant.company_id) as session:
        admin = session.get(User, tenant.admin.id)
        assert admin is not None
        group_id = groups.create_group(session, actor=admin, name="Księgowość").id
        project_id = projects.create_project(session, actor=admin, name="Klient Gamma").id

    login(tenant.admin)
    page.locator(".empty-state").get_by_role("link", name="Nowe konto").click()
    expect(page.locator("h1")).to_have_text("Nowe konto")
    _fill_every_section(page, mailenv, user, group_id, project_id)
    page.click("#save")

    expect(page.locator(".flash")).to_have_text("Konto zostało utworzone")
    account_id = int(page.url.rsplit("/", 1)[1])
    saved = _load(runtime, tenant, Account, account_id)
    assert isinstance(saved, Account)
    _assert_saved(saved, mailenv, user, group_id, project_id)

    page.get_by_role("navigation", name="Menu główne").get_by_role("link", name="Konta").click()
    row = page.locator(f"tr[data-account-id='{account_id}']")
    expect(row).to_contain_text("biuro@alfa.example.test")
    expect(row).to_contain_text(f"IMAP · {mailenv.host}")
    expect(row).to_contain_text("Firma")

    row.get_by_role("link", name="biuro@alfa.example.test").click()
    for secret in ("smtp_password", "incoming_password"):
        expect(page.locator(f"#f-{secret}")).to_have_value("")
        expect(page.locator(f"[data-secret-set={secret}]")).to_have_text(
            "Ustawione — pozostaw puste, aby zachować."
        )
    html = page.content()
    assert MAILBOX_PASSWORD not in html and INCOMING_PASSWORD not in html
    expect(page.locator("#f-display_name")).to_have_value("Biuro Alfa")


def test_a_port_out_of_range_is_shown_next_to_the_field_and_input_is_kept(
    page: Page, tenant: Tenant, runtime: Runtime, login: Login
) -> None:
    login(tenant.admin)
    page.goto("/accounts/new")
    page.fill("#f-email_address", "biuro@alfa.example.test")
    page.fill("#f-display_name", "Biuro Alfa")
    page.fill("#f-smtp_host", "smtp.alfa.example.test")
    page.fill("#f-smtp_port", "70000")
    page.fill("#f-smtp_password", MAILBOX_PASSWORD)
    page.fill("#f-signature_html", "<p>Pozdrawiam</p>")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#save")
    assert answer.value.status == 422

    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator("[data-field=smtp_port] .field-error")).to_have_text(
        "Wartość może wynosić najwyżej 65535."
    )
    expect(page.locator(".field-error")).to_have_count(1)
    expect(page.locator("#f-smtp_port")).to_have_value("70000")
    expect(page.locator("#f-display_name")).to_have_value("Biuro Alfa")
    expect(page.locator("#f-smtp_host")).to_have_value("smtp.alfa.example.test")
    expect(page.locator("#f-signature_html")).to_have_value("<p>Pozdrawiam</p>")
    expect(page.locator("#f-smtp_password")).to_have_value("")
    expect(page.locator("#hint-smtp_password")).to_have_text("Wpisz hasło ponownie.")
    assert MAILBOX_PASSWORD not in page.content()
    with runtime.tenant(tenant.company_id) as session:
        assert session.query(Account).count() == 0


def test_bulk_edit_of_two_accounts_is_recorded_in_their_history(
    page: Page, tenant: Tenant, runtime: Runtime, login: Login
) -> None:
    first = make_account(runtime, tenant, "biuro@alfa.example.test")
    second = make_account(runtime, tenant, "kadry@alfa.example.test")
    untouched = make_account(runtime, tenant, "zarzad@alfa.example.test")
    login(tenant.admin)

    page.click("#bulk-panel summary")
    page.click("#bulk-apply")  # nothing selected, nothing chosen
    expect(page.locator("#bulk-errors")).to_contain_text("Zaznacz co najmniej jedno konto.")
    expect(page.locator("#bulk-errors")).to_contain_text("Wybierz co najmniej jedną opcję")

    page.check(f"input[name=ids][value='{first}']")
    page.check(f"input[name=ids][value='{second}']")
    expect(page.locator("[data-selected-count]")).to_have_text("zaznaczono: 2")
    page.select_option("#bulk_notifications", "off")
    page.fill("#bulk_fetch_interval_minutes", "15")
    page.click("#bulk-apply")
    expect(page.locator(".flash")).to_have_text("Zmieniono ustawienia kont: 2")

    for account_id, changed in ((first, True), (second, True), (untouched, False)):
        account = _load(runtime, tenant, Account, account_id)
        assert isinstance(account, Account)
        assert account.notifications is not changed
        assert account.fetch_interval_minutes == (15 if changed else 5)
        assert account.active  # left unchanged
    expect(page.locator(f"tr[data-account-id='{first}']")).to_contain_text("co 15 min")

    page.goto(f"/accounts/{first}/history")
    latest = page.locator(".history-entry").first
    expect(latest).to_contain_text(tenant.admin.email)
    expect(latest).to_contain_text("zmieniono")
    notifications = latest.locator(".change", has_text="Powiadomienia")
    expect(notifications.locator(".old")).to_have_text("Tak")
    expect(notifications.locator(".new")).to_have_text("Nie")
    interval = latest.locator(".change", has_text="Pobieraj co (minut)")
    expect(interval.locator(".old")).to_have_text("5")
    expect(interval.locator(".new")).to_have_text("15")
    expect(latest.locator(".change")).to_have_count(2)


def test_a_user_sees_only_the_accounts_they_may_see(
    page: Page, tenant: Tenant, runtime: Runtime, login: Login
) -> None:
    anna = tenant.add_user(Role.USER)
    piotr = tenant.add_user(Role.USER)
    make_account(runtime, tenant, "biuro@alfa.example.test")  # company, everyone
    make_account(
        runtime, tenant, "kadry@alfa.example.test", access_mode="listed", access_user_ids=[anna.id]
    )
    make_account(runtime, tenant, "zarzad@alfa.example.test", access_mode="listed")
    own = make_account(runtime, tenant, "anna@alfa.example.test", owner_user_id=anna.id)
    make_account(runtime, tenant, "piotr@alfa.example.test", owner_user_id=piotr.id)

    login(anna)
    addresses = page.locator(".accounts-table tbody td:nth-child(2) a")
    expect(addresses).to_have_text(
        ["anna@alfa.example.test", "biuro@alfa.example.test", "kadry@alfa.example.test"]
    )
    # Only her own account can be changed, so only it can be selected for a bulk edit.
    expect(page.locator("input[name=ids]")).to_have_count(1)
    expect(page.locator("input[name=ids]")).to_have_value(str(own))

    page.select_option("#filter-owner", "me")  # htmx swaps the results in place
    expect(addresses).to_have_text(["anna@alfa.example.test"])
    expect(page).to_have_url(re.compile(r"owner=me"))
    page.select_option("#filter-owner", "all")
    page.fill("#filter-q", "kadry")
    expect(addresses).to_have_text(["kadry@alfa.example.test"])

    page.goto("/accounts/new")
    expect(page.locator("#f-owner_user_id")).to_have_count(0)  # no choice of owner
    expect(page.locator("[data-field=owner_user_id] .static-value")).to_contain_text(anna.email)


def test_saving_and_deleting_an_account_ask_and_confirm(
    page: Page, tenant: Tenant, runtime: Runtime, login: Login
) -> None:
    account_id = make_account(runtime, tenant, "biuro@alfa.example.test")
    login(tenant.admin)
    page.goto(f"/accounts/{account_id}")
    page.fill("#f-display_name", "Biuro Alfa")
    page.click("#save")
    expect(page.locator(".flash")).to_have_text("Zapisano")
    expect(page.locator("#f-display_name")).to_have_value("Biuro Alfa")

    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click("#delete")
    assert questions == ["Usunąć konto biuro@alfa.example.test?"]
    expect(page).to_have_url(re.compile(rf"/accounts/{account_id}$"))  # dismissed: still there
    expect(page.locator(".flash")).to_have_text("Zapisano")  # the same page, not reloaded
    assert _load(runtime, tenant, Account, account_id)

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete")
    expect(page.locator(".flash")).to_have_text("Konto zostało usunięte")
    expect(page.locator(".empty-state h2")).to_have_text("Nie ma jeszcze żadnych kont")
    page.goto(f"/accounts/{account_id}")
    expect(page.locator("h1")).to_have_text("Nie znaleziono")
