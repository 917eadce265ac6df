"""Helpers of the invoice tests: clients with a contact, invoices and PDFs through the API,
the sender run at a chosen date, and the rows it leaves."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from postroom.db.models_channels import ClientCommunication, InvoiceNotice
from postroom.db.models_crm import Notification
from postroom.services.invoice_notices import SendResult
from postroom.services.invoice_plan import local_today
from postroom.services.runtime import Runtime
from postroom.worker.invoices import send_invoice_notices
from tests.mail.mime_support import PDF_HEADER
from tests.support import Member, Tenant

API = "/api/v1"
# A small but real-looking PDF: header, a binary line, an object and the trailer.
PDF_BYTES = (
    PDF_HEADER
    + b"1 0 obj << /Type /Catalog >> endobj\n"
    + bytes(range(256))
    + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def today(runtime: Runtime) -> date:
    """The office's date, as the API uses it when an invoice is registered."""
    return local_today(runtime.settings)


def days(runtime: Runtime, offset: int) -> date:
    return today(runtime) + timedelta(days=offset)


def make_client(
    api: TestClient, member: Member, name: str = "Klient Gamma", email: str | None = None
) -> int:
    """A client company with one contact person (in-app is on for a new client)."""
    client = ok(api.post(f"{API}/clients", headers=member.headers, json={"name": name}), 201)
    contact = {"email": email or f"ksiegowa.{client['id']}@gamma.example.test"}
    ok(
        api.post(
            f"{API}/contacts", headers=member.headers, json={**contact, "client_id": client["id"]}
        ),
        201,
    )
    return int(client["id"])


def upload(api: TestClient, member: Member, data: bytes = PDF_BYTES, name: str = "FV_1.pdf") -> int:
    response = api.post(
        f"{API}/files", headers=member.headers, files={"file": (name, data, "application/pdf")}
    )
    return int(ok(response, 201)["id"])


def invoice_body(client: int, due: date, **fields: Any) -> dict[str, Any]:
    return {
        "number": "FV/1/2026",
        "client_id": client,
        "amount": "1234.50",
        "currency": "PLN",
        "due_date": due.isoformat(),
        **fields,
    }


def register(api: TestClient, member: Member, status: int = 201, **body: Any) -> Any:
    return ok(api.post(f"{API}/invoices", headers=member.headers, json=body), status)


def get_invoice(api: TestClient, member: Member, invoice_id: int) -> Any:
    return ok(api.get(f"{API}/invoices/{invoice_id}", headers=member.headers))


def states(invoice: dict[str, Any]) -> list[tuple[int, str, str]]:
    """(level, status, send_on) of each notice."""
    return [(n["level"], n["status"], n["send_on"]) for n in invoice["notices"]]


def send_on(runtime: Runtime, day: date) -> dict[SendResult, int]:
    """One round of the worker's job, as if it ran on `day`."""
    return send_invoice_notices(runtime, today=day)


def communications(runtime: Runtime, tenant: Tenant) -> list[ClientCommunication]:
    with runtime.tenant(tenant.company_id) as session:
        return list(
            session.scalars(
                select(ClientCommunication)
                .where(ClientCommunication.source == "invoice_notice")
                .order_by(ClientCommunication.id)
            )
        )


def feed(runtime: Runtime, tenant: Tenant) -> list[Notification]:
    """The in-app notifications of the client's contact persons."""
    with runtime.tenant(tenant.company_id) as session:
        return list(
            session.scalars(
                select(Notification)
                .where(Notification.contact_id.is_not(None))
                .order_by(Notification.id)
            )
        )


def notices(runtime: Runtime, tenant: Tenant) -> list[InvoiceNotice]:
    with runtime.tenant(tenant.company_id) as session:
        return list(
            session.scalars(
                select(InvoiceNotice).order_by(InvoiceNotice.invoice_id, InvoiceNotice.level)
            )
        )
