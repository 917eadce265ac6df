"""Helpers of the message, file and draft API tests."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import selectinload

from postroom.db.models import Account
from postroom.db.models_outbox import OutboxMessage
from postroom.services.runtime import Runtime
from tests.mail.mime_support import PDF_HEADER
from tests.support import Member, Tenant


def turn_email_on(client: TestClient, admin: Member, mode: str = "own") -> None:
    response = client.patch("/api/v1/company", headers=admin.headers, json={"email_mode": mode})
    assert response.status_code == 200, response.text


def upload(
    client: TestClient,
    member: Member,
    name: str = "Faktura_1_2026_Łódź.pdf",
    data: bytes = PDF_HEADER,
    content_type: str = "application/pdf",
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/files", headers=member.headers, files={"file": (name, data, content_type)}
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def submit(client: TestClient, member: Member, **body: Any) -> dict[str, Any]:
    """POST /messages that must be accepted."""
    response = client.post("/api/v1/messages", headers=member.headers, json=body)
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()
    return result


def sending_rows(
    client: TestClient, admin: Member, account_id: int, project_id: int
) -> dict[str, int]:
    """A stored file, a queued message with it attached, and a draft: ids by kind."""
    turn_email_on(client, admin)
    stored = upload(client, admin)
    message = submit(
        client,
        admin,
        to=["bob@example.test"],
        subject="Faktura dla Klient Gamma",
        text="W załączniku faktura.",
        account_id=account_id,
        project_id=project_id,
        attachments=[{"file_id": stored["id"]}],
    )
    draft = client.post(
        "/api/v1/drafts",
        headers=admin.headers,
        json={"subject": "Szkic Klient Gamma", "account_id": account_id, "project_id": project_id},
    )
    assert draft.status_code == 201, draft.text
    return {"file": stored["id"], "message": message["id"], "draft": draft.json()["id"]}


def add_account(
    runtime: Runtime, tenant: Tenant, address: str, owner: int | None = None, **fields: Any
) -> int:
    """An account row as saved (no connection test): the outbox only needs its settings."""
    with runtime.tenant(tenant.company_id) as session:
        account = Account(
            owner_user_id=owner, email_address=address, smtp_host="smtp.example.test", **fields
        )
        session.add(account)
        session.flush()
        return account.id


def outbox_row(runtime: Runtime, tenant: Tenant, message_id: int) -> OutboxMessage:
    with runtime.tenant(tenant.company_id) as session:
        # The body is loaded here: the row is read after its session has closed.
        row = session.get(OutboxMessage, message_id, options=[selectinload(OutboxMessage.body)])
        assert row is not None
        return row


def received(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message
