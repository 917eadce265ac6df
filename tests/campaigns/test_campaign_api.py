"""Creating campaigns over the API: rows checked before anything is sent, idempotent
re-submits, starting with or without the bad rows, clear 422s."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from postroom.db.models_outbox import OutboxMessage
from postroom.services.runtime import Runtime
from tests.api.sending_helpers import upload
from tests.campaigns.support import (
    campaign_messages,
    create_campaign,
    feed,
    get,
    make_template,
    rows,
    sending_company,
    start,
)
from tests.support import Tenant


def _outbox_count(runtime: Runtime, tenant: Tenant) -> int:
    with runtime.tenant(tenant.company_id) as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def test_bad_rows_are_reported_with_row_numbers_and_reasons_before_anything_is_sent(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin)
    ours = upload(client, tenant.admin)
    theirs = upload(client, other_tenant.admin)
    recipients = rows(5)
    recipients[0]["attachment_file_ids"] = [ours["id"]]
    recipients[1]["email"] = "nie-adres"
    recipients[2]["attachment_file_ids"] = [theirs["id"]]  # another company's file
    del recipients[3]["variables"]["invoice_no"]
    created = create_campaign(
        client,
        tenant.admin,
        name="Faktury listopad",
        template_id=template["id"],
        recipients=recipients,
    )
    report = created["report"]
    assert (report["rows"], report["valid"], report["invalid"]) == (5, 2, 3)
    problems = {row["row_number"]: row["problems"] for row in report["problems"]}
    assert sorted(problems) == [2, 3, 4]
    assert [p["code"] for p in problems[2]] == ["invalid_address"]
    assert [(p["field"], p["code"]) for p in problems[3]] == [("attachments", "unknown_file")]
    missing = problems[4][0]
    assert (missing["field"], missing["code"]) == ("variables.invoice_no", "missing_variable")
    assert missing["line"] == 1  # the subject's first line names it first
    assert created["status"] == "draft"
    assert _outbox_count(runtime, tenant) == 1 - 1  # nothing was queued


def test_starting_with_bad_rows_needs_send_valid_only_and_then_sends_the_valid_ones(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin)
    recipients = rows(3)
    recipients[1]["email"] = "zly@"
    created = create_campaign(
        client, tenant.admin, name="Faktury", template_id=template["id"], recipients=recipients
    )
    refused = client.post(f"/api/v1/campaigns/{created['id']}/start", headers=tenant.admin.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "send_valid_only"
    assert start(client, tenant.admin, created["id"], send_valid_only=True)["status"] == "scheduled"
    result = feed(runtime, tenant, created["id"])
    assert (result.queued, result.failed) == (2, 0)
    sent_to = [m.recipients[0].address for m in campaign_messages(runtime, tenant, created["id"])]
    assert sent_to == ["klient1@example.test", "klient3@example.test"]
    listed = get(client, tenant.admin, f"/campaigns/{created['id']}/recipients?status=invalid")
    assert [item["row_number"] for item in listed["items"]] == [2]


def test_a_resubmitted_campaign_is_the_same_campaign_and_is_never_sent_twice(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin)
    body = {
        "name": "Faktury grudzień",
        "template_id": template["id"],
        "recipients": rows(3),
        "start": True,
        "idempotency_key": "erp-batch-2026-12",
    }
    first = create_campaign(client, tenant.admin, **body)
    feed(runtime, tenant, first["id"])
    again = client.post("/api/v1/campaigns", headers=tenant.admin.headers, json=body)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first["id"]
    assert again.json()["report"]["rows"] == 3
    feed(runtime, tenant, first["id"])
    assert _outbox_count(runtime, tenant) == 3
    listed = get(client, tenant.admin, "/campaigns")
    assert listed["total"] == 1


def test_a_reused_key_with_another_campaign_is_refused(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin)
    body = {"name": "A", "template_id": template["id"], "idempotency_key": "k-1"}
    create_campaign(client, tenant.admin, **body)
    other = client.post(
        "/api/v1/campaigns", headers=tenant.admin.headers, json={**body, "name": "B"}
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "idempotency_key"


def test_invalid_requests_name_the_field(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin)
    cases = [
        ({"name": "X"}, "template_id"),
        ({"name": "X", "template_id": 999999}, "template_id"),
        (
            {"name": "X", "template_id": template["id"], "scheduled_at": "2026-12-01T08:00:00"},
            "scheduled_at",
        ),
        (
            {
                "name": "X",
                "template_id": template["id"],
                "kind": "survey",
                "questions": [{"kind": "single", "text": "Q?", "options": ["tak"]}],
            },
            "questions.0",
        ),
        (
            {"name": "X", "template_id": template["id"], "recipients": [{"email": 5}]},
            "recipients.0.email",
        ),
        ({"name": "X", "template_id": template["id"], "client_ids": [999999]}, "client_ids[0]"),
        ({"name": "X", "template_id": template["id"], "account_id": 999999}, "account_id"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/campaigns", headers=tenant.admin.headers, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in response.json()["errors"]], (body, response.text)


def test_rows_from_a_csv_file_keep_the_spreadsheets_row_numbers(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin)
    created = create_campaign(client, tenant.admin, name="CSV", template_id=template["id"])
    csv_text = (
        "email;Imię i nazwisko;invoice_no;amount\r\n"
        "jan@example.test;Jan Kowalski;FV/1;100,00\r\n"
        ";;;\r\n"
        "zly-adres;Anna;FV/2;200,00\r\n"
        "ewa@example.test;Ewa;;300,00\r\n"
    ).encode("cp1250")
    response = client.post(
        f"/api/v1/campaigns/{created['id']}/recipients/upload",
        headers=tenant.admin.headers,
        files={"file": ("lista.csv", csv_text, "text/csv")},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["valid"], report["invalid"]) == (3, 1, 2)
    assert [row["row_number"] for row in report["problems"]] == [4, 5]
    listed = get(client, tenant.admin, f"/campaigns/{created['id']}/recipients")
    first = listed["items"][0]
    assert (first["row_number"], first["name"], first["variables"]["invoice_no"]) == (
        2,
        "Jan Kowalski",
        "FV/1",
    )


def test_rows_from_an_xlsx_file(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    import io
    from datetime import datetime

    from openpyxl import Workbook

    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin, subject="Faktura {{ invoice_no }} z {{ due }}")
    created = create_campaign(client, tenant.admin, name="XLSX", template_id=template["id"])
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["E-mail", "Name", "invoice_no", "amount", "due"])
    sheet.append(["jan@example.test", "Jan", "FV/7", 1234.5, datetime(2026, 12, 1)])
    sheet.append(["ewa@example.test", "Ewa", "FV/8", 99, datetime(2026, 12, 2)])
    data = io.BytesIO()
    book.save(data)
    response = client.post(
        f"/api/v1/campaigns/{created['id']}/recipients/upload",
        headers=tenant.admin.headers,
        files={"file": ("lista.xlsx", data.getvalue(), "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["valid"] == 2
    items = get(client, tenant.admin, f"/campaigns/{created['id']}/recipients")["items"]
    assert items[0]["variables"] == {"invoice_no": "FV/7", "amount": 1234.5, "due": "2026-12-01"}
    assert items[1]["variables"]["amount"] == 99


def test_a_file_without_an_email_column_is_refused_naming_the_file(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin)
    created = create_campaign(client, tenant.admin, name="CSV", template_id=template["id"])
    for name, data in (("lista.csv", b"adresat,kwota\r\nx,1\r\n"), ("lista.xlsx", b"not a zip")):
        response = client.post(
            f"/api/v1/campaigns/{created['id']}/recipients/upload",
            headers=tenant.admin.headers,
            files={"file": (name, data, "application/octet-stream")},
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "file"
    assert get(client, tenant.admin, f"/campaigns/{created['id']}")["report"]["rows"] == 0


def test_recipients_from_chosen_clients_contacts(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(
        client,
        tenant.admin,
        kind="other",
        subject="Nowości dla {{ client_name }}",
        html="<p>Dzień dobry {{ name }}</p>",
    )
    headers = tenant.admin.headers
    gamma = client.post("/api/v1/clients", headers=headers, json={"name": "Gamma sp. z o.o."})
    delta = client.post("/api/v1/clients", headers=headers, json={"name": "Delta"})
    assert gamma.status_code == delta.status_code == 201, gamma.text
    for email, client_id in (
        ("anna@gamma.example.test", gamma.json()["id"]),
        ("piotr@gamma.example.test", gamma.json()["id"]),
        ("ola@delta.example.test", delta.json()["id"]),
    ):
        made = client.post(
            "/api/v1/contacts",
            headers=headers,
            json={"email": email, "name": email.split("@")[0].title(), "client_id": client_id},
        )
        assert made.status_code == 201, made.text
    created = create_campaign(
        client,
        tenant.admin,
        name="Nowości",
        kind="newsletter",
        template_id=template["id"],
        client_ids=[gamma.json()["id"]],
    )
    assert created["report"]["valid"] == 2
    items = get(client, tenant.admin, f"/campaigns/{created['id']}/recipients")["items"]
    assert sorted(i["email"] for i in items) == [
        "anna@gamma.example.test",
        "piotr@gamma.example.test",
    ]
    assert items[0]["variables"]["client_name"] == "Gamma sp. z o.o."


def test_progress_counts_and_the_event_stream_end_when_nothing_is_left(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin)
    created = create_campaign(
        client, tenant.admin, name="X", template_id=template["id"], recipients=rows(2), start=True
    )
    feed(runtime, tenant, created["id"])
    body = get(client, tenant.admin, f"/campaigns/{created['id']}")
    assert body["progress"]["counts"]["queued"] == 2
    assert body["progress"]["remaining"] == 2
    cancelled = client.post(
        f"/api/v1/campaigns/{created['id']}/cancel", headers=tenant.admin.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["affected"] == 2
    with client.stream(
        "GET", f"/api/v1/campaigns/{created['id']}/events", headers=tenant.admin.headers
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    assert text.startswith("event: progress\n")
    assert '"cancelled":2' in text
    assert text.endswith("event: end\ndata: {}\n\n")


def test_another_companys_template_account_or_client_is_unknown(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs_account = sending_company(client, other_tenant, runtime)
    theirs = make_template(client, other_tenant.admin)
    version = get(client, other_tenant.admin, f"/templates/{theirs['id']}")["current_version_id"]
    client_id = client.post(
        "/api/v1/clients", headers=other_tenant.admin.headers, json={"name": "Beta Klient"}
    ).json()["id"]
    sending_company(client, tenant, runtime)
    ours = make_template(client, tenant.admin)
    for body, field in (
        ({"template_id": theirs["id"]}, "template_id"),
        ({"template_version_id": version}, "template_version_id"),
        ({"template_id": ours["id"], "account_id": theirs_account}, "account_id"),
        ({"template_id": ours["id"], "client_ids": [client_id]}, "client_ids[0]"),
    ):
        response = client.post(
            "/api/v1/campaigns", headers=tenant.admin.headers, json={"name": "X", **body}
        )
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field
        assert "Beta" not in response.text


def test_rows_cannot_be_added_once_started(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin)
    created = create_campaign(
        client, tenant.admin, name="X", template_id=template["id"], recipients=rows(1), start=True
    )
    response = client.post(
        f"/api/v1/campaigns/{created['id']}/recipients",
        headers=tenant.admin.headers,
        json={"recipients": rows(1, start=2)},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "campaign_started"
    patched = client.patch(
        f"/api/v1/campaigns/{created['id']}", headers=tenant.admin.headers, json={"name": "Y"}
    )
    assert patched.status_code == 409


def test_a_campaign_is_seen_by_its_creator_and_the_administrators_only(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin, kind="other")
    anna, piotr = tenant.add_user(), tenant.add_user()
    created = create_campaign(client, anna, name="Anny", template_id=template["id"])
    assert (
        client.get(f"/api/v1/campaigns/{created['id']}", headers=piotr.headers).status_code == 404
    )
    assert get(client, piotr, "/campaigns")["total"] == 0
    assert get(client, tenant.admin, f"/campaigns/{created['id']}")["name"] == "Anny"
    assert get(client, anna, "/campaigns")["total"] == 1
