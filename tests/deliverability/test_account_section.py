"""The sender-domain section of "Test account": shown with the records to add, never blocking."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.helpers import DEFAULT_ADDRESS, working_settings
from tests.fixtures.dns_server import Zone
from tests.fixtures.mailenv import MailEnv
from tests.support import Tenant

API = "/api/v1"
DOMAIN = DEFAULT_ADDRESS.rpartition("@")[2]  # alfa.example.test


def _checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    section = report["sender_domain"]
    assert section is not None, report
    return {check["name"]: check for check in section["checks"]}


def test_the_test_report_carries_spf_dkim_and_dmarc(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, dns_zone: Zone
) -> None:
    dns_zone.txt(DOMAIN, f"v=spf1 ip4:{mailenv.host} -all")
    dns_zone.txt(f"_dmarc.{DOMAIN}", "v=DMARC1; p=reject")
    body = working_settings(mailenv)
    response = client.post(f"{API}/accounts/test", headers=tenant.admin.headers, json=body)
    report = response.json()
    assert report["ok"] is True, report["summary"]
    assert report["sender_domain"]["address"] == DEFAULT_ADDRESS
    assert report["sender_domain"]["server_addresses"] == [mailenv.host]
    checks = _checks(report)
    assert (checks["spf"]["result"], checks["spf"]["status"]) == ("pass", "ok")
    assert checks["spf"]["record_found"] == f"v=spf1 ip4:{mailenv.host} -all"
    assert (checks["dmarc"]["result"], checks["dmarc"]["status"]) == ("reject", "ok")
    assert checks["dkim"]["status"] == "warning"  # no key under the usual selectors
    assert set(checks["dmarc"]["explanation"]) == {"en", "pl"}


def test_a_failing_domain_is_shown_and_the_account_is_saved_all_the_same(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, dns_zone: Zone
) -> None:
    dns_zone.txt(DOMAIN, "v=spf1 ip4:192.0.2.1 -all")
    dns_zone.txt(f"_dmarc.{DOMAIN}", "v=DMARC1; p=quarantine")
    response = client.post(
        f"{API}/accounts", headers=tenant.admin.headers, json=working_settings(mailenv)
    )
    assert response.status_code == 201, response.text
    account_id = response.json()["id"]
    report = client.get(f"{API}/accounts/{account_id}/test", headers=tenant.admin.headers).json()
    assert report["ok"] is True
    assert report["sender_domain"]["status"] == "failing"
    checks = _checks(report)
    assert (checks["spf"]["result"], checks["spf"]["status"]) == ("fail", "failing")
    assert checks["spf"]["record_to_add"] == {
        "name": DOMAIN,
        "type": "TXT",
        "value": f"v=spf1 ip4:192.0.2.1 ip4:{mailenv.host} -all",
    }
    assert checks["dmarc"]["code"] == "dmarc_quarantine"
    assert "przeniosą pocztę z adresu" in checks["dmarc"]["explanation"]["pl"]


def test_no_records_at_all_are_warnings(
    client: TestClient, tenant: Tenant, mailenv: MailEnv, dns_zone: Zone
) -> None:
    body = working_settings(mailenv)
    report = client.post(f"{API}/accounts/test", headers=tenant.admin.headers, json=body).json()
    assert report["ok"] is True
    checks = _checks(report)
    assert {name: check["status"] for name, check in checks.items()} == {
        "spf": "warning",
        "dkim": "warning",
        "dmarc": "warning",
    }
    assert checks["spf"]["record_to_add"]["value"] == f"v=spf1 ip4:{mailenv.host} ~all"
    assert checks["dmarc"]["record_to_add"]["name"] == f"_dmarc.{DOMAIN}"
