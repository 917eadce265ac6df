"""Planning an invoice's notices: one per dunning level, on the due date plus the level's offset."""

# An invoice registered late (its first levels' days already past) does not get a burst of
# every missed notice, nor a "due in three days" reminder for a bill that is already overdue:
# the latest level whose day has passed goes out on the day of registration, the earlier
# missed ones are recorded as CANCELLED with the reason, and later levels keep their days.
# Re-planning after the ladder changes sends nothing retroactively: only levels still ahead
# are planned, so editing the ladder never sets off a wave of notices. docs/invoices.md.

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.models_channels import Invoice, InvoiceNotice
from postroom.enums import InvoiceStatus, NoticeStatus

SKIPPED_PAST = (
    "Not sent: its day ({day}) had passed when the invoice was registered, and a later level "
    "was due by then."
)
CAUGHT_UP = (
    "Planned for {day}, which had passed when the invoice was registered; sent on the day of "
    "registration instead."
)
PAID = "Cancelled: the invoice was marked paid before the send day."
CANCELLED = "Cancelled: the invoice was cancelled."


class PlannedLevel(Protocol):
    @property
    def position(self) -> int: ...

    @property
    def offset_days(self) -> int: ...


def local_today(settings: Settings) -> date:
    """The office's date: a notice due on the 20th goes on the 20th in Poland, not in UTC."""
    return datetime.now(ZoneInfo(settings.local_timezone)).date()


def send_day(due_date: date, level: PlannedLevel) -> date:
    return due_date + timedelta(days=level.offset_days)


def plan_notices(
    session: Session, invoice: Invoice, levels: Sequence[PlannedLevel], *, today: date
) -> list[InvoiceNotice]:
    """The notices of a newly registered invoice (see the rule above)."""
    days = [(level.position, send_day(invoice.due_date, level)) for level in levels]
    past = [position for position, day in days if day < today]
    catch_up = past[-1] if past else None
    notices = []
    for position, day in days:
        notice = InvoiceNotice(invoice_id=invoice.id, level=position, send_on=day)
        if day < today and position == catch_up:
            notice.send_on, notice.detail = today, CAUGHT_UP.format(day=day.isoformat())
        elif day < today:
            notice.status = NoticeStatus.CANCELLED
            notice.detail = SKIPPED_PAST.format(day=day.isoformat())
        notices.append(notice)
    session.add_all(notices)
    session.flush()
    return notices


def replan_unpaid(session: Session, levels: Sequence[PlannedLevel], *, today: date) -> int:
    """Re-plan the pending notices of every unpaid invoice of the session's company by a new
    ladder: levels already sent (or cancelled, or failed) stay as they are; the others are
    planned on their new days if those are today or later. Returns how many were planned."""
    unpaid = select(Invoice.id).where(Invoice.status == InvoiceStatus.UNPAID)
    session.execute(
        delete(InvoiceNotice).where(
            InvoiceNotice.status == NoticeStatus.PENDING,
            InvoiceNotice.invoice_id.in_(unpaid.scalar_subquery()),
        ),
        execution_options={"synchronize_session": "fetch"},
    )
    done = {
        (invoice_id, level)
        for invoice_id, level in session.execute(
            select(InvoiceNotice.invoice_id, InvoiceNotice.level).where(
                InvoiceNotice.invoice_id.in_(unpaid.scalar_subquery())
            )
        )
    }
    unpaid_dues = session.execute(
        select(Invoice.id, Invoice.due_date).where(Invoice.status == InvoiceStatus.UNPAID)
    )
    planned = [
        InvoiceNotice(invoice_id=invoice_id, level=level.position, send_on=day)
        for invoice_id, due_date in unpaid_dues
        for level in levels
        if (invoice_id, level.position) not in done and (day := send_day(due_date, level)) >= today
    ]
    session.add_all(planned)
    session.flush()
    return len(planned)


def cancel_pending(session: Session, invoice_id: int, reason: str) -> int:
    """Cancel the invoice's pending notices (the caller holds the invoice's row lock)."""
    result = session.execute(
        update(InvoiceNotice)
        .where(
            InvoiceNotice.invoice_id == invoice_id,
            InvoiceNotice.status == NoticeStatus.PENDING,
        )
        .values(status=NoticeStatus.CANCELLED, detail=reason),
        execution_options={"synchronize_session": "fetch"},
    )
    return int(getattr(result, "rowcount", 0) or 0)
