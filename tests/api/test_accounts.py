"""Accounts through the API: create, read, change, bulk change, delete, history, validation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.services.runtime import Runtime
from tests.api.helpers import create, create_account, imap_settings
from tests.fixtures.mailenv import MailEnv
from tests.support import INCOMING_PASSWORD, MAILBOX_PASSWORD, Tenant

API = "/api/v1"


def test_create_and_read_back_every_setting(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    project = create(client, tenant.admin, "projects", {"name": "Kadry"})
    settings: dict[str, Any] = {
        "name": "Faktury",
        "display_name": "Biuro Alfa – faktury",
        "reply_to": "ksiegowa@alfa.example.test",
        "smtp_host": mailenv.host,
        "smtp_port": mailenv.smtps_port,
        "smtp_security": "tls",
        "smtp_cipher_level": "medium",
        "smtp_auth": "cram_md5",
        "smtp_username": "faktury-out@alfa.example.test",
        "incoming_protocol": "pop3",
        "incoming_host": mailenv.host,
        "incoming_port": mailenv.pop3_port,
        "incoming_security": "starttls",
        "incoming_cipher_level": "weak",
        "incoming_auth": "password",
        "incoming_username": "faktury-in@alfa.example.test",
        "active": False,
        "leave_on_server": False,
        "fetch_since": "2026-01-01",
        "delete_on_server_when_purged": True,
        "notifications": False,
        "create_contacts": True,
        "create_tasks": True,
        "sent_folder": "Wysłane",
        "drafts_folder": "Szkice",
        "fetch_interval_minutes": 30,
        "header_html": "<p>Nagłówek</p>",
        "signature_html": "<p>Z poważaniem<br><b>Anna</b></p>",
        "autoresponder_enabled": True,
        "autoresponder_from": "2026-12-20",
        "autoresponder_until": "2027-01-06",
        "autoresponder_subject": "Urlop",
        "autoresponder_text": "Wracam 7 stycznia.",
        "project_ids": [project["id"]],
    }
    body = create_account(
        client,
        tenant.admin,
        mailenv,
        email_address="faktury@alfa.example.test",
        smtp_password=MAILBOX_PASSWORD,
        incoming_password=INCOMING_PASSWORD,
        **settings,
    )
    read = client.get(f"{API}/accounts/{body['id']}", headers=tenant.admin.headers).json()
    for field, value in settings.items():
        assert read[field] == value, field
    assert read["kind"] == "company"
    assert read["smtp_password_set"] is True and read["incoming_password_set"] is True
    assert MAILBOX_PASSWORD not in str(read) and INCOMING_PASSWORD not in str(read)
    assert "smtp_password" not in read and "incoming_password" not in read


def test_defaults_fill_port_and_login_from_the_address(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    # The local servers listen on other ports, so the standard ones show in the test report.
    body = {
        "email_address": "jan@alfa.example.test",
        "smtp_host": mailenv.host,
        "smtp_security": "tls",
        "incoming_protocol": "imap",
        "incoming_host": mailenv.host,
    }
    report = client.post(f"{API}/accounts/test", headers=tenant.admin.headers, json=body).json()
    assert (report["outgoing"]["port"], report["incoming"]["port"]) == (465, 993)
    created = create_account(
        client,
        tenant.admin,
        mailenv,
        email_address="jan@alfa.example.test",
        **imap_settings(mailenv),
    )
    assert created["smtp_username"] == created["incoming_username"] == "jan@alfa.example.test"


def test_signature_html_is_sanitized(client: TestClient, tenant: Tenant, mailenv: MailEnv) -> None:
    body = create_account(
        client,
        tenant.admin,
        mailenv,
        signature_html='<p onclick="steal()">Anna<script>alert(1)</script></p>',
    )
    assert body["signature_html"] == "<p>Anna</p>"


INVALID = [
    ({"bogus": 1}, "bogus", "extra_forbidden"),
    ({"smtp_port": 70000}, "smtp_port", "less_than_equal"),
    ({"smtp_port": 0}, "smtp_port", "greater_than_equal"),
    ({"email_address": "not an address"}, "email_address", "value_error"),
    ({"reply_to": "anna@"}, "reply_to", "value_error"),
    ({"smtp_security": "ssl3"}, "smtp_security", "enum"),
    ({"smtp_cipher_level": "paranoid"}, "smtp_cipher_level", "enum"),
    ({"smtp_auth": "kerberos"}, "smtp_auth", "enum"),
    ({"incoming_protocol": "exchange"}, "incoming_protocol", "enum"),
    ({"smtp_host": "smtp.example.test\r\nRCPT TO:<x@y>"}, "smtp_host", "string_pattern_mismatch"),
    ({"fetch_interval_minutes": 0}, "fetch_interval_minutes", "greater_than_equal"),
    ({"incoming_protocol": "imap"}, "incoming_host", "required"),
    ({"smtp_host": ""}, "smtp_host", "required"),
    (
        {"autoresponder_from": "2026-05-02", "autoresponder_until": "2026-05-01"},
        "autoresponder_until",
        "date_order",
    ),
    ({"project_ids": [4242]}, "project_ids", "unknown_project"),
    ({"access_user_ids": [4242]}, "access_user_ids", "unknown_user"),
]


@pytest.mark.parametrize(
    ("fields", "field", "code"), INVALID, ids=[c[1] + ":" + c[2] for c in INVALID]
)
def test_invalid_input_is_refused_naming_the_field(
    client: TestClient, tenant: Tenant, fields: dict[str, Any], field: str, code: str
) -> None:
    body = {
        "email_address": "x@alfa.example.test",
        "smtp_host": "smtp.alfa.example.test",
        "smtp_password": MAILBOX_PASSWORD,
        **fields,
    }
    response = client.post(f"{API}/accounts", headers=tenant.admin.headers, json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)]
    assert field in problem["detail"] or problem["errors"][0]["message"] in problem["detail"]
    assert MAILBOX_PASSWORD not in response.text
    listed = client.get(f"{API}/accounts", headers=tenant.admin.headers).json()
    assert listed["total"] == 0  # nothing half-saved


def test_failed_change_leaves_everything_as_it_was(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    account = create_account(client, tenant.admin, mailenv, display_name="Before")
    url = f"{API}/accounts/{account['id']}"
    # Valid field types, but the whole is inconsistent: the service refuses after applying.
    response = client.patch(
        url,
        headers=tenant.admin.headers,
        json={"display_name": "After", "incoming_protocol": "imap"},
    )
    assert response.status_code == 422
    assert client.get(url, headers=tenant.admin.headers).json() == account
    history = client.get(f"{url}/history", headers=tenant.admin.headers).json()
    assert [entry["action"] for entry in history["items"]] == ["created"]


def test_password_write_only_semantics_and_history(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    # Postfix's MX port takes mail for its own mailboxes without a login, so the account keeps
    # passing its connection test whatever its (unused) password is.
    account = create_account(
        client,
        tenant.admin,
        mailenv,
        smtp_port=mailenv.mx_port,
        smtp_auth="none",
        smtp_password=None,
    )
    url, headers = f"{API}/accounts/{account['id']}", tenant.admin.headers
    assert client.patch(url, headers=headers, json={"smtp_password": MAILBOX_PASSWORD}).json()[
        "smtp_password_set"
    ]
    kept = client.patch(url, headers=headers, json={"display_name": "Anna"}).json()
    assert kept["smtp_password_set"] is True  # absent: unchanged
    client.patch(url, headers=headers, json={"smtp_password": INCOMING_PASSWORD})
    cleared = client.patch(url, headers=headers, json={"smtp_password": None}).json()
    assert cleared["smtp_password_set"] is False
    history = client.get(f"{url}/history", headers=headers).json()["items"]
    secret_changes = [
        c for entry in history for c in entry["changes"] if c["field"] == "smtp_password"
    ]
    assert [c["change"] for c in secret_changes] == ["cleared", "changed", "set"]
    assert all(set(c) == {"field", "secret", "change"} for c in secret_changes)
    assert MAILBOX_PASSWORD not in str(history) and INCOMING_PASSWORD not in str(history)


def test_history_says_who_changed_what_from_what_to_what(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    account = create_account(client, tenant.admin, mailenv, fetch_interval_minutes=5)
    url = f"{API}/accounts/{account['id']}"
    client.patch(url, headers=tenant.admin.headers, json={"fetch_interval_minutes": 15})
    client.patch(url, headers=tenant.admin.headers, json={"fetch_interval_minutes": 15})  # no-op
    items = client.get(f"{url}/history", headers=tenant.admin.headers).json()["items"]
    assert [e["action"] for e in items] == ["updated", "created"]
    latest = items[0]
    assert latest["actor_label"] == tenant.admin.email
    assert latest["actor_user_id"] == tenant.admin.id
    assert latest["changes"] == [{"field": "fetch_interval_minutes", "old": 5, "new": 15}]


def test_protocol_is_fixed_once_mail_was_downloaded(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv
) -> None:
    pop3 = imap_settings(mailenv, incoming_protocol="pop3", incoming_port=mailenv.pop3s_port)
    account = create_account(client, tenant.admin, mailenv, **pop3)
    url = f"{API}/accounts/{account['id']}"
    with runtime.tenant(tenant.company_id) as session:
        session.execute(
            update(Account).where(Account.id == account["id"]).values(first_fetched_at=utcnow())
        )
    response = client.patch(url, headers=tenant.admin.headers, json={"incoming_protocol": "imap"})
    assert response.status_code == 409
    assert response.json()["code"] == "protocol_locked"
    detail = response.json()["detail"]
    assert "new account is needed" in detail and "stay as an archive" in detail
    assert client.get(url, headers=tenant.admin.headers).json()["incoming_protocol"] == "pop3"


def test_bulk_update_changes_every_selected_account(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    ids = [
        create_account(client, tenant.admin, mailenv, email_address=f"b{i}@alfa.example.test")["id"]
        for i in range(3)
    ]
    response = client.patch(
        f"{API}/accounts",
        headers=tenant.admin.headers,
        json={
            "account_ids": ids[:2],
            "options": {"notifications": False, "fetch_interval_minutes": 15},
        },
    )
    assert response.status_code == 200
    assert [(a["notifications"], a["fetch_interval_minutes"]) for a in response.json()] == [
        (False, 15),
        (False, 15),
    ]
    untouched = client.get(f"{API}/accounts/{ids[2]}", headers=tenant.admin.headers).json()
    assert (untouched["notifications"], untouched["fetch_interval_minutes"]) == (True, 5)
    history = client.get(f"{API}/accounts/{ids[0]}/history", headers=tenant.admin.headers).json()
    assert history["items"][0]["changes"] == [
        {"field": "notifications", "old": True, "new": False},
        {"field": "fetch_interval_minutes", "old": 5, "new": 15},
    ]


def test_bulk_update_is_all_or_nothing(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    user = tenant.add_user()
    own = create_account(
        client, user, mailenv, email_address="own@alfa.example.test", owner_user_id=user.id
    )
    company = create_account(
        client, tenant.admin, mailenv, email_address="shared@alfa.example.test"
    )
    response = client.patch(
        f"{API}/accounts",
        headers=user.headers,
        json={"account_ids": [own["id"], company["id"]], "options": {"active": False}},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    again = client.get(f"{API}/accounts/{own['id']}", headers=user.headers).json()
    assert again["active"] is True


def test_bulk_update_accepts_only_options(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    account = create_account(client, tenant.admin, mailenv)
    response = client.patch(
        f"{API}/accounts",
        headers=tenant.admin.headers,
        json={"account_ids": [account["id"]], "options": {"smtp_host": "evil.example.test"}},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "options.smtp_host"


def test_list_filters_and_paging(client: TestClient, tenant: Tenant, mailenv: MailEnv) -> None:
    user = tenant.add_user()
    for i in range(5):
        create_account(
            client, tenant.admin, mailenv, email_address=f"a{i}@alfa.example.test", active=i != 0
        )
    create_account(
        client,
        user,
        mailenv,
        email_address="mine@alfa.example.test",
        owner_user_id=user.id,
        name="Moje",
    )
    headers = tenant.admin.headers

    def emails(query: str) -> list[str]:
        body = client.get(f"{API}/accounts?{query}", headers=headers).json()
        return [a["email_address"] for a in body["items"]]

    assert emails("limit=2&offset=2") == ["a2@alfa.example.test", "a3@alfa.example.test"]
    assert client.get(f"{API}/accounts?limit=2", headers=headers).json()["total"] == 6
    assert emails("owner=company&active=false") == ["a0@alfa.example.test"]
    assert emails(f"owner={user.id}") == ["mine@alfa.example.test"]
    assert emails("q=MOJE") == ["mine@alfa.example.test"]
    assert emails("q=a4") == ["a4@alfa.example.test"]
    for bad in ("limit=0", "limit=501", "offset=-1", "owner=everyone", "incoming_protocol=x"):
        assert client.get(f"{API}/accounts?{bad}", headers=headers).status_code == 422, bad


def test_delete_account(client: TestClient, tenant: Tenant, mailenv: MailEnv) -> None:
    account = create_account(client, tenant.admin, mailenv)
    url = f"{API}/accounts/{account['id']}"
    assert client.delete(url, headers=tenant.admin.headers).status_code == 204
    assert client.get(url, headers=tenant.admin.headers).status_code == 404
    assert client.delete(url, headers=tenant.admin.headers).status_code == 404


def test_user_may_not_change_a_company_account(
    client: TestClient, tenant: Tenant, mailenv: MailEnv
) -> None:
    user = tenant.add_user()
    account = create_account(client, tenant.admin, mailenv)
    url = f"{API}/accounts/{account['id']}"
    assert client.get(url, headers=user.headers).status_code == 200  # access mode: everyone
    response = client.patch(url, headers=user.headers, json={"display_name": "Mine now"})
    assert response.status_code == 403
    assert client.delete(url, headers=user.headers).status_code == 403
    response = client.post(
        f"{API}/accounts",
        headers=user.headers,
        json={"email_address": "x@alfa.example.test", "smtp_host": "smtp.alfa.example.test"},
    )
    assert response.status_code == 403
    assert "owner_user_id" in response.json()["detail"]
