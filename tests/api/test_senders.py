"""GET /senders (the "From" picker, B1–B4) and GET /company/relay (B5) over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from postroom.config import Settings
from postroom.db.models import Account, AccountProject
from postroom.enums import EmailMode, MessageStatus
from postroom.services.runtime import Runtime
from tests.api.helpers import create
from tests.services.relay_support import RELAY_FROM, Sent, add_sent, set_company, with_relay
from tests.support import Member, Tenant


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """This installation has a platform relay."""
    return with_relay(settings)


def _add_account(
    runtime: Runtime, tenant: Tenant, address: str, owner: int | None, project: int | None
) -> int:
    with runtime.tenant(tenant.company_id) as session:
        account = Account(
            owner_user_id=owner,
            email_address=address,
            display_name=address.split("@")[0].title(),
            smtp_host="smtp.alfa.example.test",
            projects=[AccountProject(project_id=project)] if project else [],
        )
        session.add(account)
        session.flush()
        return account.id


def _senders(client: TestClient, member: Member, query: str = "") -> Any:
    response = client.get(f"/api/v1/senders{query}", headers=member.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_senders_come_in_the_order_of_the_rules(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    user = tenant.add_user()
    set_company(runtime, tenant.company_id, email_mode=EmailMode.RELAY)
    project = create(client, tenant.admin, "projects", {"name": "Klient Gamma"})["id"]
    _add_account(runtime, tenant, "biuro@alfa.example.test", None, None)
    _add_account(runtime, tenant, "gamma@alfa.example.test", None, project)
    _add_account(runtime, tenant, "anna@alfa.example.test", user.id, None)

    body = _senders(client, user, f"?project_id={project}")
    assert body["email_mode"] == "relay"
    assert [(i["address"], i["kind"], i["rule"], i["default"]) for i in body["items"]] == [
        ("anna@alfa.example.test", "personal", "personal", True),
        ("gamma@alfa.example.test", "company", "project", False),
        ("biuro@alfa.example.test", "company", "company", False),
        (RELAY_FROM, "relay", "relay", False),
    ]
    assert body["items"][-1]["account_id"] is None
    # What relay mail really shows: the company, and who sends for it (issue 9).
    assert body["items"][-1]["display_name"] == "Biuro Rachunkowe Alfa via Postroom"
    # Outside the project its account is not offered (B4).
    outside = [i["address"] for i in _senders(client, user)["items"]]
    assert outside == ["anna@alfa.example.test", "biuro@alfa.example.test", RELAY_FROM]


def test_own_servers_mean_no_relay_and_off_means_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    set_company(runtime, tenant.company_id, email_mode=EmailMode.OWN)
    assert _senders(client, tenant.admin) == {"email_mode": "own", "items": []}
    set_company(runtime, tenant.company_id, email_mode=EmailMode.OFF)
    response = client.get("/api/v1/senders", headers=tenant.admin.headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "email_off"
    assert "turns it on" in body["detail"]


def test_an_unknown_or_foreign_project_is_not_found(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    set_company(runtime, other_tenant.company_id, email_mode=EmailMode.RELAY)
    ours = create(client, tenant.admin, "projects", {"name": "Klient Gamma"})["id"]
    for project in (ours, 999999):
        response = client.get(
            f"/api/v1/senders?project_id={project}", headers=other_tenant.admin.headers
        )
        assert response.status_code == 404, response.text
        assert "Gamma" not in response.text


def test_company_relay_shows_the_quota_of_the_callers_company(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    set_company(runtime, tenant.company_id, email_mode=EmailMode.RELAY, relay_document_limit=10)
    with runtime.tenant(tenant.company_id) as session:
        add_sent(session, Sent(4), Sent(2, status=MessageStatus.FAILED))
    body = client.get("/api/v1/company/relay", headers=tenant.add_user().headers).json()
    assert body == {
        "email_mode": "relay",
        "relay_configured": True,
        "available": True,
        "verified": False,
        "limit": 10,
        "limit_source": "company",
        "used": 4,
        "remaining": 6,
        "allowed": {"standard": True, "own_template": False, "hr": False, "none": True},
    }
    theirs = client.get("/api/v1/company/relay", headers=other_tenant.admin.headers).json()
    assert (theirs["used"], theirs["limit"], theirs["limit_source"]) == (0, 50, "platform")
    assert theirs["email_mode"] == "off" and not theirs["available"]
