"""What goes out when: deadline reminders and unpaid-invoice notices merged by day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from postroom.enums import ReminderKind
from postroom.services.invoice_notices import UpcomingNotice, upcoming_notices
from postroom.services.reminder_plan import PlannedReminder, plan_reminders


@dataclass(frozen=True)
class UpcomingEntry:
    on: date
    type: str  # "reminder" or "invoice_notice"
    client_id: int
    client_name: str = ""
    kind: ReminderKind | None = None
    period: str | None = None
    deadline: date | None = None
    amount: Decimal | None = None
    currency: str | None = None
    documents: list[str] = field(default_factory=list)
    invoice_id: int | None = None
    invoice_number: str | None = None
    level: int | None = None
    level_name: str | None = None


def _reminder_entry(reminder: PlannedReminder, today: date) -> UpcomingEntry:
    facts = reminder.facts
    return UpcomingEntry(
        on=reminder.goes_out(today),
        type="reminder",
        client_id=reminder.client_id,
        client_name=reminder.client_name,
        kind=reminder.kind,
        period=str(reminder.period),
        deadline=reminder.deadline,
        amount=facts.amount if facts is not None else None,
        currency=facts.currency if facts is not None and facts.amount is not None else None,
        documents=list(facts.documents) if facts is not None else [],
    )


def _notice_entry(notice: UpcomingNotice) -> UpcomingEntry:
    return UpcomingEntry(
        on=notice.date,
        type="invoice_notice",
        client_id=notice.client_id,
        client_name=notice.client_name,
        amount=notice.amount,
        currency=notice.currency,
        invoice_id=notice.invoice_id,
        invoice_number=notice.invoice_number,
        level=notice.level,
        level_name=notice.level_name,
    )


def upcoming(
    session: Session, *, start: date, end: date, today: date, client_id: int | None = None
) -> list[UpcomingEntry]:
    """Everything that goes out from `start` to `end` (inclusive), by day."""
    entries = [
        _reminder_entry(r, today)
        for r in plan_reminders(session, start=start, end=end, today=today, client_id=client_id)
    ]
    for notice in upcoming_notices(session, start=start, end=end):
        if client_id is None or notice.client_id == client_id:
            entries.append(_notice_entry(notice))
    entries.sort(key=lambda e: (e.on, e.type, e.client_name, e.client_id))
    return entries
