"""Registering invoices: each field checked with a clear error, idempotent repeats, conflicts,
the notices planned by the ladder, and the list filters."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from postroom.services.runtime import Runtime
from tests.invoices.support import (
    API,
    days,
    get_invoice,
    invoice_body,
    make_client,
    ok,
    register,
    states,
    upload,
)
from tests.support import Tenant


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"amount": "12.345"}, "amount", "invalid_amount"),
        ({"amount": "1 234,50"}, "amount", "invalid_amount"),
        ({"amount": "-5.00"}, "amount", "invalid_amount"),
        ({"amount": "1e3"}, "amount", "invalid_amount"),
        ({"amount": "0.00"}, "amount", "amount_not_positive"),
        ({"amount": "1234567890123.00"}, "amount", "invalid_amount"),
        ({"currency": "XYZ"}, "currency", "invalid_currency"),
        ({"currency": "ZŁ"}, "currency", "invalid_currency"),
        ({"number": "  "}, "number", "invalid_number"),
        ({"number": "FV/1\n/2026"}, "number", "invalid_number"),
        ({"number": "F" * 101}, "number", "invalid_number"),
        ({"client_id": 999999}, "client_id", "unknown_client"),
        ({"issue_date": "2099-01-02"}, "due_date", "due_before_issue"),
        ({"file_id": 999999}, "file_id", "unknown_file"),
    ],
)
def test_a_field_at_fault_is_named_and_nothing_is_kept(
    api: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    fields: dict[str, object],
    field: str,
    code: str,
) -> None:
    client_id = make_client(api, tenant.admin)
    body = invoice_body(client_id, days(runtime, 14), **fields)
    response = api.post(f"{API}/invoices", headers=tenant.admin.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)]
    assert problem["detail"]
    listed = ok(api.get(f"{API}/invoices", headers=tenant.admin.headers))
    assert listed["total"] == 0


def test_amount_must_be_a_string_not_a_json_number(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(api, tenant.admin)
    body = invoice_body(client_id, days(runtime, 14), amount=1234.5)
    response = api.post(f"{API}/invoices", headers=tenant.admin.headers, json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "amount"


def test_a_file_that_is_not_a_pdf_is_refused_by_its_bytes(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(api, tenant.admin)
    fake = upload(api, tenant.admin, b"PK\x03\x04 a zip named like a pdf", name="FV_1.pdf")
    body = invoice_body(client_id, days(runtime, 14), file_id=fake)
    response = api.post(f"{API}/invoices", headers=tenant.admin.headers, json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert response.json()["errors"][0]["code"] == "not_a_pdf"
    assert "not a PDF" in response.json()["detail"]


def test_registered_with_amount_currency_and_pdf_and_three_notices_planned(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(api, tenant.admin)
    pdf = upload(api, tenant.admin)
    due = days(runtime, 14)
    created = register(
        api,
        tenant.admin,
        **invoice_body(client_id, due, amount="99.9", currency="eur", file_id=pdf),
        issue_date=days(runtime, 0).isoformat(),
    )
    assert created["amount"] == "99.90"
    assert created["currency"] == "EUR"
    assert created["status"] == "unpaid"
    assert created["file_id"] == pdf
    assert states(created) == [
        (1, "pending", days(runtime, 11).isoformat()),
        (2, "pending", days(runtime, 21).isoformat()),
        (3, "pending", days(runtime, 35).isoformat()),
    ]
    assert [n["level_name"] for n in created["notices"]] == [
        "Przypomnienie o terminie płatności",
        "Wezwanie do zapłaty",
        "Ostateczne wezwanie do zapłaty",
    ]
    assert get_invoice(api, tenant.admin, created["id"]) == created


def test_the_same_invoice_again_is_a_safe_repeat_other_data_a_conflict(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(api, tenant.admin)
    body = invoice_body(client_id, days(runtime, 14), file_id=upload(api, tenant.admin))
    first = register(api, tenant.admin, **body)
    # A retry that uploaded the same PDF again: another file id, the same bytes.
    again = register(api, tenant.admin, 200, **{**body, "file_id": upload(api, tenant.admin)})
    assert again["id"] == first["id"]
    assert states(again) == states(first)
    changed = {**body, "amount": "1234.51"}
    response = api.post(f"{API}/invoices", headers=tenant.admin.headers, json=changed)
    assert response.status_code == 409
    assert response.json()["code"] == "invoice_number_taken"
    assert "amount" in response.json()["detail"]
    other_pdf = upload(api, tenant.admin, b"%PDF-1.7\nanother invoice")
    response = api.post(
        f"{API}/invoices", headers=tenant.admin.headers, json={**body, "file_id": other_pdf}
    )
    assert response.status_code == 409
    assert "file_id" in response.json()["detail"]
    assert ok(api.get(f"{API}/invoices", headers=tenant.admin.headers))["total"] == 1


def test_registered_late_only_the_latest_past_level_goes_now(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """Ten days overdue at registration: the pre-due reminder is not sent, the demand for
    payment (due + 7) goes today, the final demand keeps its day."""
    client_id = make_client(api, tenant.admin)
    created = register(api, tenant.admin, **invoice_body(client_id, days(runtime, -10)))
    assert states(created) == [
        (1, "cancelled", days(runtime, -13).isoformat()),
        (2, "pending", days(runtime, 0).isoformat()),
        (3, "pending", days(runtime, 11).isoformat()),
    ]
    assert "had passed" in created["notices"][0]["detail"]


def test_the_list_filters_by_client_status_and_overdue(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    gamma = make_client(api, tenant.admin, "Klient Gamma")
    delta = make_client(api, tenant.admin, "Klient Delta")
    late = register(api, tenant.admin, **invoice_body(gamma, days(runtime, -3), number="A/1"))
    register(api, tenant.admin, **invoice_body(gamma, days(runtime, 5), number="A/2"))
    paid = register(api, tenant.admin, **invoice_body(delta, days(runtime, -5), number="B/1"))
    ok(api.post(f"{API}/invoices/{paid['id']}/paid", headers=tenant.admin.headers))

    def numbers(**params: object) -> list[str]:
        found = ok(api.get(f"{API}/invoices", headers=tenant.admin.headers, params=params))
        return sorted(item["number"] for item in found["items"])

    assert numbers() == ["A/1", "A/2", "B/1"]
    assert numbers(client_id=gamma) == ["A/1", "A/2"]
    assert numbers(status="paid") == ["B/1"]
    assert numbers(overdue="true") == [late["number"]]
    assert numbers(overdue="false") == ["A/2", "B/1"]
    response = api.get(f"{API}/invoices", headers=tenant.admin.headers, params={"status": "x"})
    assert response.status_code == 422


def test_paid_and_cancelled_are_final_and_repeatable(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(api, tenant.admin)
    first = register(api, tenant.admin, **invoice_body(client_id, days(runtime, 5), number="P/1"))
    second = register(api, tenant.admin, **invoice_body(client_id, days(runtime, 5), number="P/2"))
    paid_at = "2026-11-20T10:15:00+01:00"
    url = f"{API}/invoices/{first['id']}"
    paid = ok(api.post(f"{url}/paid", headers=tenant.admin.headers, json={"paid_at": paid_at}))
    assert paid["status"] == "paid"
    assert paid["paid_at"].startswith("2026-11-20T09:15:00")
    assert {n["status"] for n in paid["notices"]} == {"cancelled"}
    again = ok(api.post(f"{url}/paid", headers=tenant.admin.headers))
    assert again["paid_at"] == paid["paid_at"]  # the first payment time stays
    refused = api.post(f"{url}/cancel", headers=tenant.admin.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "invoice_paid"
    url = f"{API}/invoices/{second['id']}"
    cancelled = ok(api.post(f"{url}/cancel", headers=tenant.admin.headers))
    assert cancelled["status"] == "cancelled"
    assert {n["detail"] for n in cancelled["notices"]} == {"Cancelled: the invoice was cancelled."}
    refused = api.post(f"{url}/paid", headers=tenant.admin.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "invoice_cancelled"
    naive = api.post(
        f"{url}/paid", headers=tenant.admin.headers, json={"paid_at": "2026-11-20T10:00:00"}
    )
    assert naive.status_code == 422
