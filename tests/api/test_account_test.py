"""A6 through the API: test before saving, 409 with the report, tests on demand, health."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from postroom.services.runtime import Runtime
from tests.api.helpers import create_account, imap_settings, mailbox, working_settings
from tests.fixtures.mailenv import MailEnv
from tests.mail.support import silent_listener
from tests.support import INCOMING_PASSWORD, MAILBOX_PASSWORD, Tenant

API = "/api/v1"


def _steps(probe: dict[str, Any]) -> list[tuple[str, str]]:
    return [(step["name"], step["status"]) for step in probe["steps"]]


def _failed(probe: dict[str, Any]) -> dict[str, Any]:
    return next(step for step in probe["steps"] if step["status"] == "failed")


def _accounts(client: TestClient, tenant: Tenant) -> int:
    total: int = client.get(f"{API}/accounts", headers=tenant.admin.headers).json()["total"]
    return total


def test_settings_are_tested_without_saving(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    body = working_settings(mailenv, **imap_settings(mailenv))
    response = client.post(f"{API}/accounts/test", headers=tenant.admin.headers, json=body)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True and report["summary"] == "Every step of the account test succeeded."
    assert _steps(report["outgoing"])[-3:] == [
        ("mail_from", "ok"),
        ("rcpt_to", "ok"),
        ("data", "ok"),
    ]
    assert report["incoming"]["kind"] == "imap" and report["incoming"]["sent_folder"] == "Sent"
    assert report["round_trip"] is None
    assert _accounts(client, tenant) == 0
    assert MAILBOX_PASSWORD not in response.text


def test_failing_settings_show_the_step_the_words_and_the_advice(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    body = working_settings(mailenv, **imap_settings(mailenv))
    body["incoming_password"] = INCOMING_PASSWORD  # not this mailbox's password
    report = client.post(f"{API}/accounts/test", headers=tenant.admin.headers, json=body).json()
    assert report["ok"] is False and report["outgoing"]["ok"] is True
    step = _failed(report["incoming"])
    assert step["name"] == "auth"
    assert step["server_reply"] == "NO [AUTHENTICATIONFAILED] Authentication failed."
    assert step["advice"] == "wrong_password"
    assert "not your Postroom password" in step["advice_text"]
    assert "failed at step auth" in report["summary"]


def test_create_is_refused_with_the_report_and_nothing_is_saved(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    body = working_settings(mailenv, email_address="refused@alfa.example.test")
    body["smtp_password"] = INCOMING_PASSWORD  # wrong for this mailbox
    response = client.post(f"{API}/accounts", headers=tenant.admin.headers, json=body)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "account_test_failed"
    assert "Nothing was saved" in problem["detail"] and "535 5.7.8" in problem["detail"]
    step = _failed(problem["report"]["outgoing"])
    assert (step["name"], step["advice"]) == ("auth", "wrong_password")
    assert _accounts(client, tenant) == 0
    assert INCOMING_PASSWORD not in response.text


def test_a_created_account_keeps_its_report(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    account = create_account(client, tenant.admin, mailenv, **imap_settings(mailenv))
    assert account["last_success_at"] is not None and account["consecutive_failures"] == 0
    assert account["sent_folder"] == "Sent"  # found by the test (\Sent special use)
    report = client.get(f"{API}/accounts/{account['id']}/test", headers=tenant.admin.headers)
    assert report.status_code == 200
    assert report.json()["ok"] is True and report.json()["incoming"]["sent_folder"] == "Sent"


def test_a_change_of_connection_settings_is_tested_first(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = "changes@alfa.example.test"
    account = create_account(client, tenant.admin, mailenv, email_address=address)
    url, headers = f"{API}/accounts/{account['id']}", tenant.admin.headers
    refused = client.patch(url, headers=headers, json={"smtp_password": INCOMING_PASSWORD})
    assert refused.status_code == 409 and refused.json()["code"] == "account_test_failed"
    assert client.get(url, headers=headers).json() == account
    history = client.get(f"{url}/history", headers=headers).json()["items"]
    assert [entry["action"] for entry in history] == ["created"]
    mailbox(mailenv, address, "changed-on-the-server")  # the stored password no longer works
    # Changes that touch no connection setting, or set one to its value, are not tested.
    assert client.patch(url, headers=headers, json={"display_name": "Faktury"}).status_code == 200
    same_port = {"smtp_port": account["smtp_port"]}
    assert client.patch(url, headers=headers, json=same_port).status_code == 200
    fixed = client.patch(url, headers=headers, json={"smtp_password": "changed-on-the-server"})
    assert fixed.status_code == 200, fixed.text
    mailbox(mailenv, address, MAILBOX_PASSWORD)


def test_only_the_changed_side_is_tested(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    out_login, in_login = "side-out@alfa.example.test", "side-in@alfa.example.test"
    account = create_account(
        client,
        tenant.admin,
        mailenv,
        email_address="side@alfa.example.test",
        smtp_username=out_login,
        **imap_settings(mailenv, incoming_username=in_login),
    )
    mailbox(mailenv, out_login, "changed-on-the-server")  # the outgoing side is broken now
    url, headers = f"{API}/accounts/{account['id']}", tenant.admin.headers
    change = {"incoming_security": "starttls", "incoming_port": mailenv.imap_port}
    response = client.patch(url, headers=headers, json=change)
    assert response.status_code == 200, response.text
    report = client.get(f"{url}/test", headers=headers).json()
    assert report["outgoing"] is None
    assert report["incoming"]["ok"] is True and report["incoming"]["security"] == "starttls"
    mailbox(mailenv, out_login, MAILBOX_PASSWORD)


def test_send_a_test_message_to_myself(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    body = {**working_settings(mailenv, **imap_settings(mailenv)), "send_test_message": True}
    report = client.post(f"{API}/accounts/test", headers=tenant.admin.headers, json=body).json()
    assert report["ok"] is True, report["summary"]
    assert _steps(report["round_trip"]) == [("send", "ok"), ("delivery", "ok")]


def test_a_test_ends_within_its_time_limit(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, runtime: Runtime
) -> None:
    default_bound = runtime.settings.account_test_timeout_seconds
    assert default_bound >= 12.0
    runtime.settings = runtime.settings.model_copy(update={"account_test_timeout_seconds": 2.0})
    with silent_listener() as port:
        body = working_settings(mailenv, smtp_port=port)
        started = time.monotonic()
        response = client.post(f"{API}/accounts/test", headers=tenant.admin.headers, json=body)
        elapsed = time.monotonic() - started
    step = _failed(response.json()["outgoing"])
    assert (step["name"], step["advice"]) == ("greeting", "use_implicit_tls")
    # The setting, not the default bound, ended it (the default is far longer); a margin for a
    # loaded machine, since this tells the two bounds apart and times nothing else.
    assert elapsed < default_bound / 2


def test_testing_a_saved_account_counts_for_its_health(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = "health@alfa.example.test"
    account = create_account(client, tenant.admin, mailenv, email_address=address)
    url, headers = f"{API}/accounts/{account['id']}", tenant.admin.headers
    mailbox(mailenv, address, "changed-on-the-server")
    for attempt in range(1, 11):
        report = client.post(f"{url}/test", headers=headers).json()
        assert _failed(report["outgoing"])["advice"] == "wrong_password"
        shown = client.get(url, headers=headers).json()
        assert shown["consecutive_auth_failures"] == attempt
        assert shown["needs_attention"] is (attempt == 10), attempt
    assert shown["attention_reason"] == "auth_failures"
    assert shown["last_error"].startswith("535 5.7.8") and shown["last_error_at"] is not None
    mailbox(mailenv, address, MAILBOX_PASSWORD)
    assert client.post(f"{url}/test", headers=headers, json={}).json()["ok"] is True
    shown = client.get(url, headers=headers).json()
    assert shown["needs_attention"] is False and shown["attention_reason"] is None
    assert (shown["consecutive_failures"], shown["consecutive_auth_failures"]) == (0, 0)
