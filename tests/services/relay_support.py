"""Helpers for the sending-rule tests: outbox rows "already sent", company settings, a relay."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.base import utcnow
from postroom.db.models import Company
from postroom.db.models_outbox import OutboxBody, OutboxMessage
from postroom.enums import DocumentKind, MessageStatus
from postroom.services.runtime import Runtime

RELAY_FROM = "relay@platform.example.test"


@dataclass(frozen=True)
class Sent:
    """Rows already in the outbox: `count` messages of one shape."""

    count: int
    kind: DocumentKind = DocumentKind.INVOICE
    status: MessageStatus = MessageStatus.SENT
    via_relay: bool = True
    own_template: bool = False


def add_sent(session: Session, *batches: Sent) -> None:
    """Outbox rows as if these messages had been sent already."""
    for batch in batches:
        session.add_all(
            OutboxMessage(
                via_relay=batch.via_relay,
                document_kind=batch.kind,
                from_own_template=batch.own_template,
                status=batch.status,
                message_id=f"{uuid.uuid4()}@platform.example.test",
                envelope_from=RELAY_FROM,
                body=OutboxBody(mime=b"Subject: x\r\n\r\nx\r\n"),
                size=18,
                deadline_at=utcnow() + timedelta(days=3),
            )
            for _ in range(batch.count)
        )
    session.flush()


def set_company(runtime: Runtime, company_id: int, **values: object) -> None:
    with runtime.tenant(company_id) as session:
        company = session.get(Company, company_id)
        assert company is not None
        for name, value in values.items():
            setattr(company, name, value)


def with_relay(settings: Settings, **fields: object) -> Settings:
    """`settings` with the platform relay configured (a name nobody contacts, unless `fields`
    point it at a real server)."""
    update = {"relay_host": "relay.platform.example.test", "relay_from_address": RELAY_FROM}
    return settings.model_copy(update={**update, **fields})
