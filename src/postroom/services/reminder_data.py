"""What the host application tells us for a client's reminder: the amount, the documents, a note."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models_channels import ReminderData
from postroom.db.models_crm import Client
from postroom.enums import ReminderKind
from postroom.errors import ValidationError
from postroom.services.deadlines import applies, parse_period
from postroom.services.guards import get_or_404
from postroom.services.reminder_profile import profile_of

_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = Decimal("1e12")  # Numeric(14, 2) holds twelve digits before the point
MAX_DOCUMENTS = 50
MAX_DOCUMENT_CHARS = 200
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True)
class ReminderFacts:
    """The host's data for one reminder, as the message quotes it."""

    amount: Decimal | None = None
    currency: str = "PLN"
    documents: list[str] = field(default_factory=list)
    note: str = ""


def _clean(facts: ReminderFacts) -> ReminderFacts:
    currency = facts.currency.strip().upper()
    if not _CURRENCY.match(currency):
        raise ValidationError.for_field(
            "currency", f"{facts.currency!r} is not a currency code such as PLN or EUR."
        )
    if facts.amount is not None and not (0 <= facts.amount < MAX_AMOUNT):
        raise ValidationError.for_field(
            "amount", "The amount must be zero or more and below 1 000 000 000 000.", "out_of_range"
        )
    documents = [d.strip() for d in facts.documents if d.strip()]
    if len(documents) > MAX_DOCUMENTS or any(len(d) > MAX_DOCUMENT_CHARS for d in documents):
        raise ValidationError.for_field(
            "documents",
            f"Give at most {MAX_DOCUMENTS} documents of at most {MAX_DOCUMENT_CHARS} characters.",
            "too_long",
        )
    if len(facts.note) > MAX_NOTE_CHARS:
        raise ValidationError.for_field(
            "note", f"The note may have at most {MAX_NOTE_CHARS} characters.", "too_long"
        )
    amount = None if facts.amount is None else facts.amount.quantize(Decimal("0.01"))
    return ReminderFacts(amount, currency, documents, facts.note.strip())


def _checked_period(client: Client, kind: ReminderKind, period_text: str) -> str:
    """The period in its canonical form, refused when the client has no such deadline (so data
    for "2026-Q3" of a monthly VAT payer is not silently never quoted)."""
    period = parse_period(period_text)
    if not applies(kind, profile_of(client), period):
        raise ValidationError.for_field(
            "period",
            f"Client {client.id} has no {kind.value} deadline for {period}: check its "
            "settlement (monthly or quarterly, or not liable) and give a matching period.",
            "period_not_applicable",
        )
    return str(period)


def upsert_reminder_data(
    session: Session, *, client_id: int, kind: ReminderKind, period: str, facts: ReminderFacts
) -> ReminderData:
    """Store (or replace) the host's data for one client, kind and period."""
    client = get_or_404(session, Client, client_id, "Client")
    canonical = _checked_period(client, kind, period)
    clean = _clean(facts)
    row = session.scalar(
        select(ReminderData).where(
            ReminderData.client_id == client_id,
            ReminderData.kind == kind,
            ReminderData.period == canonical,
        )
    )
    if row is None:
        row = ReminderData(client_id=client_id, kind=kind, period=canonical)
        session.add(row)
    row.amount = clean.amount
    row.currency = clean.currency
    row.documents = clean.documents
    row.note = clean.note
    session.flush()
    return row


def reminder_data(
    session: Session, *, client_id: int, kind: ReminderKind, period: str
) -> ReminderData | None:
    return session.scalar(
        select(ReminderData).where(
            ReminderData.client_id == client_id,
            ReminderData.kind == kind,
            ReminderData.period == str(parse_period(period)),
        )
    )


def facts_of(row: ReminderData | None) -> ReminderFacts | None:
    if row is None:
        return None
    return ReminderFacts(row.amount, row.currency, list(row.documents or []), row.note)


def facts_for(
    session: Session, keys: list[tuple[int, ReminderKind, str]]
) -> dict[tuple[int, ReminderKind, str], ReminderFacts]:
    """The data of many (client id, kind, period) keys at once (the planner's)."""
    if not keys:
        return {}
    wanted = set(keys)
    rows = session.scalars(
        select(ReminderData).where(
            ReminderData.client_id.in_({key[0] for key in wanted}),
            ReminderData.period.in_({key[2] for key in wanted}),
        )
    )
    found: dict[tuple[int, ReminderKind, str], ReminderFacts] = {}
    for row in rows:
        key = (row.client_id, row.kind, row.period)
        facts = facts_of(row)
        if key in wanted and facts is not None:
            found[key] = facts
    return found
