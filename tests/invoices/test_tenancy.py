"""Every company's invoices, notices and ladder are invisible to every other: other
companies' ids give 404 (or, inside a body, the same answer as an id that does not exist)."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient

from postroom.services.invoice_notices import SendResult
from postroom.services.runtime import Runtime
from tests.invoices.support import (
    API,
    days,
    feed,
    invoice_body,
    make_client,
    ok,
    register,
    send_on,
    upload,
)
from tests.support import Tenant


def test_another_companys_invoices_are_not_found(
    api: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = register(
        api,
        other_tenant.admin,
        **invoice_body(make_client(api, other_tenant.admin), days(runtime, 5)),
    )
    headers = tenant.admin.headers
    for method, path in (
        ("GET", f"/invoices/{theirs['id']}"),
        ("POST", f"/invoices/{theirs['id']}/paid"),
        ("POST", f"/invoices/{theirs['id']}/cancel"),
    ):
        response = api.request(method, f"{API}{path}", headers=headers)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] == "not_found"
    assert ok(api.get(f"{API}/invoices", headers=headers))["total"] == 0
    params = {"client_id": theirs["client_id"]}
    assert ok(api.get(f"{API}/invoices", headers=headers, params=params))["total"] == 0
    # Untouched by the attempts above.
    state = ok(api.get(f"{API}/invoices/{theirs['id']}", headers=other_tenant.admin.headers))
    assert state["status"] == "unpaid"
    assert {n["status"] for n in state["notices"]} == {"pending"}


def test_another_companys_client_and_file_cannot_be_used(
    api: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    their_client = make_client(api, other_tenant.admin)
    their_file = upload(api, other_tenant.admin)
    mine = make_client(api, tenant.admin)
    for body, field in (
        (invoice_body(their_client, days(runtime, 5)), "client_id"),
        (invoice_body(mine, days(runtime, 5), file_id=their_file), "file_id"),
    ):
        response = api.post(f"{API}/invoices", headers=tenant.admin.headers, json=body)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field
        assert "does not exist" in response.json()["detail"]


def test_the_same_number_in_two_companies_is_two_invoices(
    api: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = register(
        api, tenant.admin, **invoice_body(make_client(api, tenant.admin), days(runtime, 5))
    )
    theirs = register(
        api,
        other_tenant.admin,
        **invoice_body(make_client(api, other_tenant.admin), days(runtime, 5), amount="5.00"),
    )
    assert mine["id"] != theirs["id"]
    # One worker round sends both, each within its own company.
    assert send_on(runtime, days(runtime, 2)) == {SendResult.SENT: 2}
    assert len(feed(runtime, tenant)) == len(feed(runtime, other_tenant)) == 1
    assert "1\xa0234,50" in feed(runtime, tenant)[0].body
    assert "5,00" in feed(runtime, other_tenant)[0].body


def test_each_company_has_its_own_ladder(
    api: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    template = ok(
        api.post(
            f"{API}/templates",
            headers=other_tenant.admin.headers,
            json={"name": "Monit", "subject": "S {{ invoice_number }}", "text": "T"},
        ),
        201,
    )
    url = f"{API}/office/dunning"
    borrowed = {"position": 1, "offset_days": 0, "name": "X", "template_id": template["id"]}
    response = api.put(url, headers=tenant.admin.headers, json={"levels": [borrowed]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "unknown_template"
    own = {"position": 1, "offset_days": 2, "name": "Jedyny", "subject": "S", "body": "B"}
    ok(api.put(url, headers=tenant.admin.headers, json={"levels": [own]}))
    assert ok(api.get(url, headers=tenant.admin.headers))["levels"][0]["name"] == "Jedyny"
    assert ok(api.get(url, headers=other_tenant.admin.headers))["is_default"] is True


def test_every_endpoint_needs_a_token(api: TestClient) -> None:
    invoice = invoice_body(1, days_from_now(5))
    ladder = {
        "levels": [{"position": 1, "offset_days": 0, "name": "X", "subject": "S", "body": "B"}]
    }
    for method, path, body in (
        ("GET", "/invoices", None),
        ("POST", "/invoices", invoice),
        ("GET", "/invoices/1", None),
        ("POST", "/invoices/1/paid", None),
        ("POST", "/invoices/1/cancel", None),
        ("GET", "/office/dunning", None),
        ("PUT", "/office/dunning", ladder),
    ):
        response = api.request(method, f"{API}{path}", json=body)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["code"] == "unauthenticated"


def days_from_now(offset: int) -> date:
    return date.today() + timedelta(days=offset)
