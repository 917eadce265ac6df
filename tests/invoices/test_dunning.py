"""The office's dunning ladder: the built-in one, replacing it with every item checked, a
level made from a company template, and pending notices re-planned by a new ladder."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from postroom.db.models import User
from postroom.enums import Language, Role
from postroom.services.invoice_notices import SendResult
from postroom.services.runtime import Runtime
from tests.invoices.support import (
    API,
    days,
    feed,
    get_invoice,
    invoice_body,
    make_client,
    ok,
    register,
    send_on,
    states,
)
from tests.support import Tenant

URL = f"{API}/office/dunning"


def level(position: int, offset: int, **fields: Any) -> dict[str, Any]:
    return {
        "position": position,
        "offset_days": offset,
        "name": f"Poziom {position}",
        "subject": "Faktura {{ invoice_number }}",
        "body": "Do zapłaty {{ amount|money(currency) }} do {{ due_date|date }}.",
        **fields,
    }


def put(api: TestClient, tenant: Tenant, levels: list[dict[str, Any]]) -> Any:
    return api.put(URL, headers=tenant.admin.headers, json={"levels": levels})


def test_the_built_in_ladder_until_the_office_sets_one(api: TestClient, tenant: Tenant) -> None:
    ladder = ok(api.get(URL, headers=tenant.admin.headers))
    assert ladder["is_default"] is True
    assert [(lv["position"], lv["offset_days"], lv["name"]) for lv in ladder["levels"]] == [
        (1, -3, "Przypomnienie o terminie płatności"),
        (2, 7, "Wezwanie do zapłaty"),
        (3, 21, "Ostateczne wezwanie do zapłaty"),
    ]
    assert "days_overdue" in ladder["variables"]


def test_an_english_speaking_office_gets_the_english_ladder(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    with runtime.tenant(tenant.company_id) as session:
        session.execute(update(User).values(language=Language.EN))
    ladder = ok(api.get(URL, headers=tenant.admin.headers))
    assert ladder["levels"][1]["name"] == "Demand for payment"
    client_id = make_client(api, tenant.admin)
    register(api, tenant.admin, **invoice_body(client_id, days(runtime, 5), amount="1234.5"))
    assert send_on(runtime, days(runtime, 2)) == {SendResult.SENT: 1}
    sent = feed(runtime, tenant)[0]
    assert sent.title == "Payment reminder: invoice FV/1/2026"
    assert "for PLN\xa01,234.50 is due on" in sent.body


def test_only_an_administrator_changes_the_ladder(api: TestClient, tenant: Tenant) -> None:
    user = tenant.add_user(Role.USER)
    response = api.put(URL, headers=user.headers, json={"levels": [level(1, 0)]})
    assert response.status_code == 403
    assert ok(api.get(URL, headers=user.headers))["is_default"] is True


def _refused(api: TestClient, tenant: Tenant, levels: list[dict[str, Any]]) -> list[Any]:
    response = put(api, tenant, levels)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert ok(api.get(URL, headers=tenant.admin.headers))["is_default"] is True  # nothing kept
    errors: list[Any] = response.json()["errors"]
    return [(e["field"], e["code"]) for e in errors]


def test_each_bad_item_is_named(api: TestClient, tenant: Tenant) -> None:
    assert _refused(api, tenant, []) == [("levels", "empty_ladder")]
    assert _refused(api, tenant, [level(1, -3), level(3, 7)]) == [
        ("levels.1.position", "bad_position")
    ]
    assert _refused(api, tenant, [level(1, -3), level(2, 7), level(3, 7)]) == [
        ("levels.2.offset_days", "offsets_not_increasing")
    ]
    assert _refused(api, tenant, [level(1, 400)]) == [
        ("levels.0.offset_days", "offset_out_of_range")
    ]
    assert _refused(api, tenant, [level(1, 0, name=" ")]) == [("levels.0.name", "name_invalid")]
    assert _refused(api, tenant, [level(1, 0), level(2, 5, body="Kwota {{ kwota }}")]) == [
        ("levels.1.body", "undefined_variable")
    ]
    assert _refused(api, tenant, [level(1, 0, subject="Faktura {{ invoice_number")]) == [
        ("levels.0.subject", "syntax_error")
    ]
    assert _refused(api, tenant, [level(1, 0, body="")]) == [("levels.0.body", "body_required")]
    assert _refused(api, tenant, [level(1, 0, template_id=999999)]) == [
        ("levels.0.template_id", "template_and_text")
    ]
    no_text = level(1, 0, subject="", body="", template_id=999999)
    assert _refused(api, tenant, [no_text]) == [("levels.0.template_id", "unknown_template")]


def test_the_message_names_the_level(api: TestClient, tenant: Tenant) -> None:
    response = put(api, tenant, [level(1, -3), level(2, 7), level(3, 5)])
    assert response.json()["detail"] == (
        "Level 3 must be sent later than level 2: its offset (5 days) must be greater than 7."
    )
    response = put(api, tenant, [level(1, 0, body="{{ kwota }}")])
    assert "Level 1" in response.json()["detail"] and "'kwota'" in response.json()["detail"]


def test_a_level_made_from_a_company_template(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    template = ok(
        api.post(
            f"{API}/templates",
            headers=tenant.admin.headers,
            json={
                "name": "Monit",
                "document_kind": "payment_reminder",
                "subject": "Monit: {{ invoice_number }} ({{ client_name }})",
                "html": "<p>Zaległość {{ days_overdue }} dni: "
                "<b>{{ amount|money(currency) }}</b>.</p>",
            },
        ),
        201,
    )
    own = level(1, -1)
    from_template = {
        "position": 2,
        "offset_days": 3,
        "name": "Monit",
        "template_id": template["id"],
    }
    saved = ok(put(api, tenant, [own, from_template]))
    assert saved["is_default"] is False
    assert saved["levels"][1]["template_id"] == template["id"]
    client_id = make_client(api, tenant.admin, "Klient Omega")
    register(
        api, tenant.admin, **invoice_body(client_id, days(runtime, 1), amount="10", currency="EUR")
    )
    assert send_on(runtime, days(runtime, 4)) == {SendResult.SENT: 1, SendResult.SUPERSEDED: 1}
    sent = feed(runtime, tenant)[0]
    assert sent.title == "Monit: FV/1/2026 (Klient Omega)"
    # The text is made from the template's HTML (no text part): spaces are plain there.
    assert sent.body.replace("\xa0", " ").strip() == "Zaległość 3 dni: 10,00 €."


def test_a_new_ladder_replans_pending_notices_and_keeps_sent_ones(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(api, tenant.admin)
    invoice = register(api, tenant.admin, **invoice_body(client_id, days(runtime, 5)))
    assert send_on(runtime, days(runtime, 2)) == {SendResult.SENT: 1}
    ok(put(api, tenant, [level(1, -3), level(2, 2), level(3, 10), level(4, 30)]))
    assert states(get_invoice(api, tenant.admin, invoice["id"])) == [
        (1, "sent", days(runtime, 2).isoformat()),
        (2, "pending", days(runtime, 7).isoformat()),
        (3, "pending", days(runtime, 15).isoformat()),
        (4, "pending", days(runtime, 35).isoformat()),
    ]
    # A shorter ladder drops the levels it no longer has; the paid invoice is left alone.
    paid = register(api, tenant.admin, **invoice_body(client_id, days(runtime, 5), number="P/1"))
    ok(api.post(f"{API}/invoices/{paid['id']}/paid", headers=tenant.admin.headers))
    ok(put(api, tenant, [level(1, -3), level(2, 4)]))
    assert states(get_invoice(api, tenant.admin, invoice["id"])) == [
        (1, "sent", days(runtime, 2).isoformat()),
        (2, "pending", days(runtime, 9).isoformat()),
    ]
    assert {s for _, s, _ in states(get_invoice(api, tenant.admin, paid["id"]))} == {"cancelled"}
    assert get_invoice(api, tenant.admin, invoice["id"])["notices"][1]["level_name"] == "Poziom 2"
