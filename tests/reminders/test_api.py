"""The reminders API: office defaults, client overrides, the host's data, upcoming; tenancy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient

from postroom.enums import Role
from postroom.services.reminder_scheduler import office_today
from postroom.services.runtime import Runtime
from tests.reminders.support import make_client
from tests.support import Member, Tenant

API = "/api/v1"


def _put(client: TestClient, member: Member, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.put(f"{API}/{path}", headers=member.headers, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _get(client: TestClient, member: Member, path: str) -> dict[str, Any]:
    response = client.get(f"{API}/{path}", headers=member.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _by_kind(settings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["kind"]: item for item in settings}


def test_office_defaults_on_by_default_and_admin_only(client: TestClient, tenant: Tenant) -> None:
    defaults = _by_kind(_get(client, tenant.admin, "office/reminders")["settings"])
    assert set(defaults) == {"vat", "income_tax", "zus", "documents"}
    assert all(
        (s["enabled"], s["days_before"], s["day_of_month"]) == (True, 3, None)
        for s in defaults.values()
    )
    changed = _put(
        client,
        tenant.admin,
        "office/reminders",
        {"settings": [{"kind": "vat", "enabled": True, "days_before": 5, "day_of_month": 10}]},
    )
    assert _by_kind(changed["settings"])["vat"]["day_of_month"] == 10
    assert _by_kind(changed["settings"])["zus"]["days_before"] == 3  # left alone

    member = tenant.add_user(Role.USER)
    assert _by_kind(_get(client, member, "office/reminders")["settings"])["vat"]["days_before"] == 5
    refused = client.put(
        f"{API}/office/reminders",
        headers=member.headers,
        json={"settings": [{"kind": "vat", "enabled": False}]},
    )
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_invalid_settings_are_refused_as_problems(client: TestClient, tenant: Tenant) -> None:
    for item in ({"kind": "vat", "days_before": 40}, {"kind": "zus", "day_of_month": 31},
                 {"kind": "parking"}):  # fmt: skip
        response = client.put(
            f"{API}/office/reminders", headers=tenant.admin.headers, json={"settings": [item]}
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "validation_failed"


def test_client_overrides_and_effective_settings(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant.company_id, "Piekarnia Kowalski")
    _put(
        client,
        tenant.admin,
        "office/reminders",
        {"settings": [{"kind": "zus", "enabled": True, "days_before": 7}]},
    )
    user = tenant.add_user(Role.USER)  # any user keeps the company's client records
    result = _put(
        client,
        user,
        f"clients/{client_id}/reminders",
        {
            "settings": [
                {"kind": "documents", "enabled": False},
                {"kind": "zus", "day_of_month": 12},
            ]
        },
    )
    kinds = _by_kind(result["settings"])
    assert kinds["documents"]["override"] == {
        "enabled": False,
        "days_before": None,
        "day_of_month": None,
    }
    assert kinds["documents"]["effective"]["enabled"] is False
    assert kinds["zus"]["effective"] | {"kind": "zus"} == {
        "kind": "zus", "enabled": True, "days_before": 7, "day_of_month": 12
    }  # fmt: skip
    assert kinds["vat"]["override"]["enabled"] is None and kinds["vat"]["effective"]["enabled"]
    assert _get(client, tenant.admin, f"clients/{client_id}/reminders") == result


def test_host_data_round_trip_and_clear_errors(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant.company_id, "Piekarnia Kowalski")
    body = {"amount": "1234.56", "currency": "pln", "documents": ["Faktury", " "], "note": "Pilne"}
    response = client.put(
        f"{API}/clients/{client_id}/reminders/vat/2026-10", headers=tenant.admin.headers, json=body
    )
    # " " is refused (an empty document name) rather than silently dropped.
    assert response.status_code == 422
    body["documents"] = ["Faktury sprzedaży", "Wyciąg"]
    saved = _put(client, tenant.admin, f"clients/{client_id}/reminders/vat/2026-10", body)
    assert (saved["amount"], saved["currency"], saved["documents"], saved["note"]) == (
        "1234.56", "PLN", ["Faktury sprzedaży", "Wyciąg"], "Pilne"
    )  # fmt: skip
    assert saved["deadline"] == "2026-11-25" and saved["period"] == "2026-10"
    again = _put(client, tenant.admin, f"clients/{client_id}/reminders/vat/2026-10", {"amount": 10})
    assert again["amount"] == "10.00" and again["documents"] == []  # replaced, not merged
    assert _get(client, tenant.admin, f"clients/{client_id}/reminders/vat/2026-10") == again

    for path, code in (
        ("vat/2026-13", "invalid_period"),
        ("vat/2026-Q3", "period_not_applicable"),  # a monthly VAT payer
        ("zus/2026-Q3", "period_not_applicable"),
    ):
        wrong = client.put(
            f"{API}/clients/{client_id}/reminders/{path}", headers=tenant.admin.headers, json={}
        )
        assert wrong.status_code == 422, wrong.text
        assert wrong.json()["errors"][0]["code"] == code
    missing = client.get(
        f"{API}/clients/{client_id}/reminders/zus/2026-10", headers=tenant.admin.headers
    )
    assert missing.status_code == 404


def test_upcoming_lists_what_goes_out_by_day(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    first = make_client(runtime, tenant.company_id, "Apteka Centrum")
    second = make_client(runtime, tenant.company_id, "Biuro Podróży", documents_day=None)
    year = (
        office_today(datetime.now(UTC), runtime.settings.local_timezone).year + 2
    )  # the API plans from the real today
    _put(client, tenant.admin, f"clients/{first}/reminders/zus/{year}-02", {"amount": "1800"})
    start, end = date(year, 3, 1), date(year, 3, 31)
    found = _get(client, tenant.admin, f"reminders/upcoming?start={start}&end={end}")
    assert (found["start"], found["end"]) == (str(start), str(end))
    items = found["items"]
    days = [item["on"] for item in items]
    assert days == sorted(days) and all(str(start) <= d <= str(end) for d in days)
    reminders = {(i["client_id"], i["kind"], i["period"]) for i in items if i["type"] == "reminder"}
    february = f"{year}-02"
    for kind in ("vat", "income_tax", "zus", "documents"):
        assert (first, kind, february) in reminders
    assert (second, "documents", february) not in reminders  # no documents day
    zus = next(i for i in items if (i["client_id"], i["kind"]) == (first, "zus"))
    assert (zus["amount"], zus["currency"]) == ("1800.00", "PLN")

    only = _get(
        client, tenant.admin, f"reminders/upcoming?start={start}&end={end}&client_id={second}"
    )
    assert {i["client_id"] for i in only["items"]} == {second}
    bad = client.get(
        f"{API}/reminders/upcoming?start={end}&end={start}", headers=tenant.admin.headers
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "invalid_range"


def test_tenancy_other_companies_clients_are_not_found(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    foreign = make_client(runtime, other_tenant.company_id, "Firma Obca")
    headers = tenant.admin.headers
    setting = {"settings": [{"kind": "vat", "enabled": False}]}
    calls = [
        client.get(f"{API}/clients/{foreign}/reminders", headers=headers),
        client.put(f"{API}/clients/{foreign}/reminders", headers=headers, json=setting),
        client.put(f"{API}/clients/{foreign}/reminders/vat/2026-10", headers=headers, json={}),
        client.get(f"{API}/clients/{foreign}/reminders/vat/2026-10", headers=headers),
        client.get(f"{API}/reminders/upcoming?client_id={foreign}", headers=headers),
    ]
    assert [c.status_code for c in calls] == [404] * len(calls), [c.text for c in calls]
    # The office's defaults are its own, and the upcoming list shows only its own clients.
    _put(client, tenant.admin, "office/reminders", setting)
    other = _by_kind(_get(client, other_tenant.admin, "office/reminders")["settings"])
    assert other["vat"]["enabled"] is True
    upcoming = _get(client, tenant.admin, "reminders/upcoming")
    assert all(i["client_id"] != foreign for i in upcoming["items"])
    # Without a token: 401.
    assert client.get(f"{API}/reminders/upcoming").status_code == 401


def test_upcoming_merges_unpaid_invoice_notices(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant.company_id, "Apteka Centrum")
    year = office_today(datetime.now(UTC), runtime.settings.local_timezone).year + 2
    start, end = date(year, 2, 1), date(year, 4, 30)
    response = client.post(
        f"{API}/invoices",
        headers=tenant.admin.headers,
        json={
            "number": "FV/1/2026",
            "client_id": client_id,
            "amount": "615.00",
            "due_date": f"{year}-03-16",
        },
    )
    assert response.status_code == 201, response.text
    invoice = response.json()
    planned = {n["send_on"] for n in invoice["notices"] if str(start) <= n["send_on"] <= str(end)}
    assert planned  # the ladder has notices around the due date

    items = _get(client, tenant.admin, f"reminders/upcoming?start={start}&end={end}")["items"]
    notices = [i for i in items if i["type"] == "invoice_notice"]
    assert {n["on"] for n in notices} == planned
    assert all(
        (n["invoice_id"], n["invoice_number"], n["amount"], n["currency"], n["client_id"])
        == (invoice["id"], "FV/1/2026", "615.00", "PLN", client_id)
        for n in notices
    )
    assert any(i["type"] == "reminder" for i in items)
    assert [i["on"] for i in items] == sorted(i["on"] for i in items)  # merged by day

    paid = client.post(
        f"{API}/invoices/{invoice['id']}/paid", headers=tenant.admin.headers, json={}
    )
    assert paid.status_code == 200, paid.text
    after = _get(client, tenant.admin, f"reminders/upcoming?start={start}&end={end}")["items"]
    assert not [i for i in after if i["type"] == "invoice_notice"]
