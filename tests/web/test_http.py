"""The web UI over plain HTTP: login and session cookie, CSRF, redirects, tenancy, headers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from postroom.db.models import Account, User, WebSession
from postroom.enums import Language, Role
from postroom.services.runtime import Runtime
from tests.api.helpers import mailbox
from tests.fixtures.mailenv import MailEnv
from tests.support import MAILBOX_PASSWORD, Tenant
from tests.web.conftest import csrf_from, make_account, web_login


def test_a_page_without_a_session_redirects_to_login_and_back(client: TestClient) -> None:
    response = client.get("/accounts?q=biuro", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/accounts%3Fq%3Dbiuro"


def test_root_goes_to_the_accounts_list(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/accounts"


def test_login_sets_a_strict_session_cookie_and_follows_only_local_next(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    runtime.settings.secure_cookies = True
    client.base_url = "https://testserver"  # type: ignore[assignment]  # Secure cookies need https
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={
            "email": tenant.admin.email,
            "password": tenant.admin.password,
            "csrf_token": token,
            "next": "//evil.example/steal",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/accounts"
    cookie = next(
        v for v in response.headers.get_list("set-cookie") if v.startswith("postroom_session=")
    )
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=lax", "secure"} <= attributes
    assert f"max-age={runtime.settings.session_max_age_seconds}" in attributes


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: TestClient, tenant: Tenant
) -> None:
    answers = []
    for email, password in ((tenant.admin.email, "wrong"), ("nobody@example.test", "wrong")):
        token = csrf_from(client.get("/login").text)
        response = client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )
        assert response.status_code == 401
        assert "postroom_session" not in response.headers.get("set-cookie", "")
        answers.append(response.text.split('id="login-error">')[1].split("<")[0])
    assert answers[0] == answers[1] == "Nieprawidłowy adres e-mail lub hasło."


def test_login_without_the_login_form_token_is_refused(client: TestClient, tenant: Tenant) -> None:
    # Login CSRF: another site must not log the browser in to an account of its choosing.
    client.get("/login")
    response = client.post(
        "/login", data={"email": tenant.admin.email, "password": tenant.admin.password}
    )
    assert response.status_code == 403
    assert "postroom_session" not in response.headers.get("set-cookie", "")


def test_posts_without_the_csrf_token_are_refused(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    account_id = make_account(runtime, tenant, "biuro@alfa.example.test")
    token = web_login(client, tenant.admin)
    bulk = {"ids": str(account_id), "bulk_notifications": "off"}
    for data in (bulk, {**bulk, "csrf_token": "forged"}):
        response = client.post("/accounts/bulk", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "Żądanie odrzucone" in response.text
    refused = client.post(f"/accounts/{account_id}/delete", follow_redirects=False)
    assert refused.status_code == 403
    with runtime.tenant(tenant.company_id) as session:
        assert session.get(Account, account_id).notifications is True  # type: ignore[union-attr]

    # The same request with the session's token (as htmx sends it, in a header) goes through.
    accepted = client.post(
        "/accounts/bulk", data=bulk, headers={"X-CSRF-Token": token}, follow_redirects=False
    )
    assert accepted.status_code == 303
    with runtime.tenant(tenant.company_id) as session:
        assert session.get(Account, account_id).notifications is False  # type: ignore[union-attr]


def test_another_companys_account_does_not_exist(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, runtime: Runtime
) -> None:
    foreign = make_account(runtime, other_tenant, "tajne@beta.example.test")
    web_login(client, tenant.admin)
    for path in (f"/accounts/{foreign}", f"/accounts/{foreign}/history"):
        response = client.get(path)
        assert response.status_code == 404
        assert "tajne@beta" not in response.text
        assert "Nie znaleziono" in response.text
    assert "tajne@beta" not in client.get("/accounts").text


def test_a_user_cannot_change_a_company_account(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    shared = make_account(runtime, tenant, "biuro@alfa.example.test")
    user = tenant.add_user(Role.USER)
    token = web_login(client, user)
    page = client.get(f"/accounts/{shared}")
    assert page.status_code == 200
    assert '<fieldset class="plain" disabled>' in page.text  # read-only view
    response = client.post(f"/accounts/{shared}/delete", data={"csrf_token": token})
    assert response.status_code == 403
    assert "Brak uprawnień" in response.text


def test_logout_ends_the_session(client: TestClient, tenant: Tenant, runtime: Runtime) -> None:
    token = web_login(client, tenant.admin)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    with runtime.platform() as session:
        assert session.scalars(select(WebSession)).all() == []
    assert client.get("/accounts", follow_redirects=False).status_code == 303


def test_history_says_a_password_changed_but_never_shows_it(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv
) -> None:
    mailbox(mailenv, "biuro@alfa.example.test")
    server = {
        "smtp_host": mailenv.host,
        "smtp_port": str(mailenv.submission_port),
        "smtp_security": "starttls",
    }
    account_id = make_account(runtime, tenant, "biuro@alfa.example.test", **server)
    token = web_login(client, tenant.admin)
    form = client.get(f"/accounts/{account_id}").text
    assert "Nie ustawiono." in form
    saved = client.post(
        f"/accounts/{account_id}",
        data={
            "csrf_token": token,
            "email_address": "biuro@alfa.example.test",
            **server,
            "smtp_password": MAILBOX_PASSWORD,
            "owner_user_id": "company",
            "active": "on",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text  # the new password passed the test
    assert MAILBOX_PASSWORD not in saved.headers["location"]
    history = client.get(f"/accounts/{account_id}/history").text
    assert "hasło ustawione" in history
    assert MAILBOX_PASSWORD not in history
    edited = client.get(f"/accounts/{account_id}").text
    assert "Ustawione — pozostaw puste, aby zachować." in edited
    assert MAILBOX_PASSWORD not in edited


def test_pages_carry_security_headers_and_the_api_keeps_its_own_docs(
    client: TestClient,
) -> None:
    page = client.get("/login")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 404
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/static/htmx.min.js").status_code == 200


def test_a_user_sees_pages_in_their_own_language(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    with runtime.tenant(tenant.company_id) as session:
        user = session.get(User, tenant.admin.id)
        assert user is not None
        user.language = Language.EN
    web_login(client, tenant.admin)  # from the Polish login page, without picking a language
    page = client.get("/accounts").text
    assert "<h1>Accounts</h1>" in page and '<html lang="en">' in page
    missing = client.get("/accounts/999999")
    assert missing.status_code == 404 and "Not found" in missing.text
