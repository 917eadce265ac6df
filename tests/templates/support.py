"""Helpers of the template tests: a template through the API, and the usual invoice content."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support import Member

INVOICE_SUBJECT = "Faktura {{ invoice_no }} dla {{ client.name }}"
INVOICE_HTML = """<p>Szanowni Państwo,</p>
<p>w załączeniu faktura <b>{{ invoice_no }}</b> na kwotę {{ amount|money("PLN") }}.</p>
<p>Termin płatności: {{ due|date }}, NIP: {{ client.nip }}.</p>
"""
INVOICE_ROW: dict[str, Any] = {
    "invoice_no": "FV/7/2026",
    "amount": "1234.56",
    "due": "2026-11-23",
    "client": {"name": "Gamma sp. z o.o.", "nip": "525-000-00-00"},
}


def make_template(client: TestClient, member: Member, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Faktura",
        "document_kind": "invoice",
        "subject": INVOICE_SUBJECT,
        "html": INVOICE_HTML,
        **fields,
    }
    response = client.post("/api/v1/templates", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
