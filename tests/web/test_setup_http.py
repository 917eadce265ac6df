"""Account setup over HTTP: autodiscovery fragments, the test stream, OAuth2 start, banners."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from postroom.db.models import Account
from postroom.services.runtime import Runtime
from tests.api.helpers import mailbox
from tests.fixtures.mailenv import MailEnv
from tests.fixtures.oauth_server import FakeOAuthServer
from tests.support import MAILBOX_PASSWORD, Tenant
from tests.web.conftest import MAIL_HOST, SRV_DOMAIN, make_account, web_login

ADDRESS = f"jan@{SRV_DOMAIN}"
LIVE = {"X-Postroom-Live": "1"}


def _wizard_form(token: str, mailenv: MailEnv, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "email_address": ADDRESS,
        "smtp_host": MAIL_HOST,
        "smtp_port": str(mailenv.submission_port),
        "smtp_security": "starttls",
        "smtp_auth": "password",
        "incoming_protocol": "imap",
        "incoming_host": MAIL_HOST,
        "incoming_port": str(mailenv.imaps_port),
        "incoming_security": "tls",
        "incoming_auth": "password",
        "owner_user_id": "company",
        "fetch_interval_minutes": "5",
        "mailbox_password": MAILBOX_PASSWORD,
        **fields,
    }


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_discovery_fills_the_server_fields_out_of_band(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    web_login(client, tenant.admin)
    answer = client.get("/accounts/new/discover", params={"email_address": ADDRESS})
    assert answer.status_code == 200
    page = answer.text
    assert 'id="discovery-source">Rekordy DNS SRV<' in page
    assert page.count('hx-swap-oob="true"') == 11  # every server field, never a password
    assert f'name="smtp_port" type="number" value="{mailenv.submission_port}"' in page
    assert f'name="smtp_host" type="text" value="{MAIL_HOST}"' in page
    assert 'name="smtp_password"' not in page and 'name="mailbox_password"' not in page
    # RFC 6186 §6: a target outside the domain is named, in the visitor's language.
    assert "Rekordy DNS domeny srv-poczta.example.test wskazują na localhost" in page


def test_discovery_of_a_preset_names_the_provider_and_translates_its_advice(
    client: TestClient, tenant: Tenant
) -> None:
    web_login(client, tenant.admin)
    page = client.get("/accounts/new/discover", params={"email_address": "jan@gmail.com"}).text
    assert "Ustawienia dostawcy Gmail" in page
    assert "Gmail nie przyjmuje w programach pocztowych zwykłego hasła Google" in page
    link = "https://support.google.com/accounts/answer/185833"
    assert f'<a href="{link}" target="_blank" rel="noopener noreferrer">' in page
    assert 'value="smtp.gmail.com"' in page


def test_discovery_says_nothing_for_a_partial_address_and_needs_a_session(
    client: TestClient, tenant: Tenant
) -> None:
    anonymous = client.get("/accounts/new/discover", params={"email_address": ADDRESS})
    assert anonymous.status_code == 200 and "/login" in str(anonymous.url)
    web_login(client, tenant.admin)
    answer = client.get("/accounts/new/discover", params={"email_address": "jan@"})
    assert answer.status_code == 200
    assert "discovery" not in answer.text and "hx-swap-oob" not in answer.text


def test_the_test_streams_a_line_per_step_and_ends_with_the_report(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv
) -> None:
    mailbox(mailenv, ADDRESS)
    token = web_login(client, tenant.admin)
    answer = client.post("/accounts/new/test", data=_wizard_form(token, mailenv), headers=LIVE)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-ndjson"
    assert answer.headers["x-accel-buffering"] == "no"
    lines = _lines(answer.text)
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    assert lines[-1]["state"] == "passed"
    # Both servers' steps arrive one by one (11 SMTP and 9 IMAP), between the start and the end.
    steps = lines[-1]["html"].count('data-status="ok"')
    assert steps == 11 + 9
    assert len(lines) == 1 + steps + 1
    assert 'data-step="select" data-status="ok"' in lines[-1]["html"]
    assert MAILBOX_PASSWORD not in answer.text
    with runtime.tenant(tenant.company_id) as session:
        assert session.query(Account).count() == 0  # a test saves nothing


def test_without_javascript_the_test_answers_with_the_whole_page(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    mailbox(mailenv, ADDRESS)
    token = web_login(client, tenant.admin)
    form = _wizard_form(token, mailenv, mailbox_password="not-the-mailbox-password")
    answer = client.post("/accounts/new/test", data=form)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert 'data-state="failed"' in answer.text
    assert 'data-step="auth" data-status="failed"' in answer.text
    assert "Wpisz hasło ponownie." in answer.text
    assert "not-the-mailbox-password" not in answer.text


def test_settings_that_cannot_be_tested_are_named_in_the_stream(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    token = web_login(client, tenant.admin)
    form = _wizard_form(token, mailenv, smtp_host="", smtp_port="70000")
    lines = _lines(client.post("/accounts/new/test", data=form, headers=LIVE).text)
    assert lines[-1]["done"] and lines[-1]["state"] == "refused"
    assert "Wychodząca · Port</a>: Wartość może wynosić najwyżej 65535." in lines[-1]["html"]


def test_test_and_connect_need_the_csrf_token(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv
) -> None:
    account_id = make_account(runtime, tenant, "biuro@alfa.example.test")
    token = web_login(client, tenant.admin)
    form = _wizard_form(token, mailenv)
    del form["csrf_token"]
    for path in ("/accounts/new/test", f"/accounts/{account_id}/test"):
        refused = client.post(path, data=form, headers=LIVE)
        assert refused.status_code == 403 and "Żądanie odrzucone" in refused.text
    start = client.post(f"/accounts/{account_id}/oauth/google", follow_redirects=False)
    assert start.status_code == 403


def test_a_saved_accounts_test_counts_for_its_health(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv
) -> None:
    mailbox(mailenv, "biuro@alfa.example.test")
    account_id = make_account(
        runtime,
        tenant,
        "biuro@alfa.example.test",
        smtp_host=mailenv.host,
        smtp_port=mailenv.submission_port,
        smtp_password=MAILBOX_PASSWORD,
    )
    token = web_login(client, tenant.admin)
    same = {
        "csrf_token": token,
        "email_address": "biuro@alfa.example.test",
        "smtp_host": mailenv.host,
        "smtp_port": str(mailenv.submission_port),
        "owner_user_id": "company",
        "active": "on",
    }
    lines = _lines(client.post(f"/accounts/{account_id}/test", data=same, headers=LIVE).text)
    assert lines[-1]["state"] == "passed"
    with runtime.tenant(tenant.company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None and account.last_success_at is not None
        assert account.last_test_report is not None and account.last_test_report["ok"]

    # A change is tested as typed, and not kept: neither saved nor counted.
    changed = {**same, "smtp_password": "not-the-mailbox-password"}
    lines = _lines(client.post(f"/accounts/{account_id}/test", data=changed, headers=LIVE).text)
    assert lines[-1]["state"] == "failed"
    with runtime.tenant(tenant.company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None and account.consecutive_failures == 0
        assert account.last_test_report is not None and account.last_test_report["ok"]


@pytest.fixture
def google(runtime: Runtime, oauth_server: FakeOAuthServer) -> FakeOAuthServer:
    runtime.settings.public_url = "http://testserver"
    runtime.settings.google_client_id = oauth_server.client_id
    runtime.settings.google_client_secret = SecretStr(oauth_server.client_secret)
    runtime.settings.google_authorize_url = oauth_server.authorize_url
    runtime.settings.google_token_url = oauth_server.token_url
    return oauth_server


def test_connect_redirects_to_the_provider_which_the_page_lets_forms_reach(
    client: TestClient, tenant: Tenant, runtime: Runtime, google: FakeOAuthServer
) -> None:
    account_id = make_account(runtime, tenant, "firma@gmail.com", smtp_host="smtp.gmail.com")
    token = web_login(client, tenant.admin)
    page = client.get(f"/accounts/{account_id}")
    origin = google.base_url
    # A form's redirect is checked against form-action (CSP Level 3): the provider is allowed.
    assert page.headers["content-security-policy"].endswith(f"form-action 'self' {origin}")
    assert 'id="oauth-google"' in page.text and 'id="oauth-microsoft"' not in page.text

    started = client.post(
        f"/accounts/{account_id}/oauth/google", data={"csrf_token": token}, follow_redirects=False
    )
    assert started.status_code == 303
    location = started.headers["location"]
    assert location.startswith(google.authorize_url + "?")
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    assert query["redirect_uri"] == "http://testserver/api/v1/oauth/callback"
    assert query["code_challenge_method"] == "S256" and query["state"]
    # Another site's page gets the plain policy: no form may leave this site there.
    assert client.get("/accounts").headers["content-security-policy"].endswith("'self'")


def test_connect_with_a_provider_not_configured_comes_back_with_the_reason(
    client: TestClient, tenant: Tenant, runtime: Runtime, google: FakeOAuthServer
) -> None:
    account_id = make_account(runtime, tenant, "firma@outlook.com", smtp_host="smtp.office365.com")
    token = web_login(client, tenant.admin)
    assert "Logowanie u tego dostawcy nie jest" in client.get(f"/accounts/{account_id}").text
    started = client.post(
        f"/accounts/{account_id}/oauth/microsoft",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert started.headers["location"] == (
        f"/accounts/{account_id}?oauth=failed&oauth_error=oauth_not_configured"
    )
    unknown = client.post(f"/accounts/{account_id}/oauth/yahoo", data={"csrf_token": token})
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("oauth=connected", "Konto jest połączone"),
        ("oauth=failed&oauth_error=oauth_unavailable", "Nie udało się połączyć z dostawcą."),
        (
            "oauth=failed&oauth_error=invalid_scope",
            "Logowanie nie zostało dokończone (invalid_scope)",
        ),
        ("oauth=failed&oauth_error=<b>x</b>", "dokończone (&lt;b&gt;x&lt;/b&gt;)"),
    ],
)
def test_the_providers_answer_is_shown_in_the_visitors_words(
    client: TestClient, tenant: Tenant, runtime: Runtime, query: str, shown: str
) -> None:
    account_id = make_account(runtime, tenant, "firma@gmail.com", smtp_host="smtp.gmail.com")
    web_login(client, tenant.admin)
    page = client.get(f"/accounts/{account_id}?{query}").text
    assert shown in page.split('id="oauth-outcome">')[1].split("</div>")[0]
