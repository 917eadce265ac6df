"""Sending due invoice notices exactly once, over the client's channels, PDF attached; and the
notices still ahead, for the upcoming-reminders calendar."""

# One notice, one transaction: lock the invoice row (FOR UPDATE SKIP LOCKED on PostgreSQL; a
# row another worker or a payment holds is left for the next round), re-check that the
# invoice is still unpaid, claim the notice with a conditional UPDATE pending → sent, and queue
# its messages through notify_client in the same transaction. A payment committed before that
# transaction looks cancels the notice; one committed after it finds the notice sent; two
# workers never both send it. On SQLite the database's single writer does the same job.

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import Company
from postroom.db.models_channels import Invoice, InvoiceNotice
from postroom.db.models_crm import Client
from postroom.enums import CommunicationStatus, InvoiceStatus, NoticeStatus
from postroom.errors import PostroomError
from postroom.services import dunning, invoice_plan
from postroom.services.client_notify import ChannelOutcome, notify_client
from postroom.services.notice_message import build_message, compile_level
from postroom.services.office_sender import office_language
from postroom.services.runtime import Runtime
from postroom.services.template_render import limits_from

log = logging.getLogger("postroom.invoices")
SOURCE = "invoice_notice"  # ClientCommunication.source
KIND = "invoice_notice"  # UpcomingNotice.kind
BATCH = 200
SUPERSEDED = "Not sent: a later level was due the same day and went instead."
LEVEL_GONE = "Level {level} is no longer in the office's dunning ladder."
NO_CHANNEL = "No channel is enabled for the client."
_CARRIED = (CommunicationStatus.QUEUED, CommunicationStatus.SENT, CommunicationStatus.DELIVERED)


class SendResult(StrEnum):
    SENT = "sent"  # queued on at least one channel
    FAILED = "failed"  # no channel could carry it; the reason is in the notice's detail
    CANCELLED = "cancelled"  # the invoice is paid or cancelled: nothing goes out
    SUPERSEDED = "superseded"  # a later level of the same invoice is due too and goes instead
    TAKEN = "taken"  # another worker holds or has sent it, or it is not due (any more)


@dataclass(frozen=True)
class DueNotice:
    notice_id: int
    invoice_id: int
    company_id: int


@dataclass(frozen=True)
class UpcomingNotice:
    """A pending notice, for GET /api/v1/reminders/upcoming."""

    date: date
    client_id: int
    client_name: str
    invoice_id: int
    invoice_number: str
    level: int
    level_name: str | None
    amount: Decimal
    currency: str
    kind: str = KIND


def due_notices(runtime: Runtime, *, today: date, limit: int = BATCH) -> list[DueNotice]:
    """Pending notices of every company whose day has come (read only; send_notice claims)."""
    with runtime.platform() as session:
        rows = session.execute(
            select(InvoiceNotice.id, InvoiceNotice.invoice_id, InvoiceNotice.company_id)
            .where(InvoiceNotice.status == NoticeStatus.PENDING, InvoiceNotice.send_on <= today)
            .order_by(InvoiceNotice.send_on, InvoiceNotice.id)
            .limit(limit)
        )
        return [DueNotice(*row) for row in rows]


def _lock_invoice(session: Session, invoice_id: int) -> Invoice | None:
    """The invoice, locked until commit; None when another transaction holds it."""
    return session.scalar(
        select(Invoice)
        .where(Invoice.id == invoice_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


def _move(session: Session, notice_id: int, to: NoticeStatus, detail: str | None) -> bool:
    """Pending → `to`, only if still pending: the claim two workers cannot both win."""
    values: dict[str, object] = {"status": to, "detail": detail}
    if to is NoticeStatus.SENT:
        values["sent_at"] = utcnow()
    result = session.execute(
        update(InvoiceNotice)
        .where(InvoiceNotice.id == notice_id, InvoiceNotice.status == NoticeStatus.PENDING)
        .values(**values),
        execution_options={"synchronize_session": False},
    )
    return bool(getattr(result, "rowcount", 0))


def _later_level_due(session: Session, notice: InvoiceNotice, today: date) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    InvoiceNotice.invoice_id == notice.invoice_id,
                    InvoiceNotice.status == NoticeStatus.PENDING,
                    InvoiceNotice.send_on <= today,
                    InvoiceNotice.level > notice.level,
                )
            )
        )
    )


def _outcome_detail(outcomes: Sequence[ChannelOutcome]) -> tuple[NoticeStatus, str | None]:
    if not outcomes:
        return NoticeStatus.FAILED, NO_CHANNEL
    if any(o.status in _CARRIED for o in outcomes):
        return NoticeStatus.SENT, None
    reasons = "; ".join(f"{o.channel.value}: {o.detail or o.status.value}" for o in outcomes)
    return NoticeStatus.FAILED, f"No channel could carry the notice ({reasons})."


def _deliver(
    session: Session, runtime: Runtime, invoice: Invoice, notice: InvoiceNotice, today: date
) -> tuple[NoticeStatus, str | None]:
    """Render the level's text and queue it on the client's channels (in a savepoint: a
    template or channel error leaves nothing half-queued and becomes the notice's FAILED)."""
    level = dunning.get_ladder(session).level(notice.level)
    if level is None:
        return NoticeStatus.FAILED, LEVEL_GONE.format(level=notice.level)
    company = session.get(Company, invoice.company_id)
    client = session.get(Client, invoice.client_id)
    if company is None or client is None:  # deleted with its invoices: nothing to send to
        return NoticeStatus.CANCELLED, None
    try:
        with session.begin_nested():
            compiled = compile_level(
                session,
                level.text,
                language=office_language(session),
                limits=limits_from(runtime.settings),
            )
            message = build_message(
                compiled,
                invoice,
                client_name=client.name,
                office_name=company.name,
                text=level.text,
                on=today,
            )
            outcomes = notify_client(
                session,
                runtime=runtime,
                client=client,
                message=message,
                source=SOURCE,
                actor=None,
                batch_key=f"invoice-notice-{notice.id}",
            )
    except PostroomError as exc:
        return NoticeStatus.FAILED, f"Level {notice.level}: {exc.message}"
    return _outcome_detail(outcomes)


def send_notice(runtime: Runtime, due: DueNotice, *, today: date) -> SendResult:
    """Send one notice if it is still due and its invoice still unpaid (see the top)."""
    with runtime.tenant(due.company_id) as session:
        invoice = _lock_invoice(session, due.invoice_id)
        notice = session.get(InvoiceNotice, due.notice_id, populate_existing=True)
        if invoice is None or notice is None:
            return SendResult.TAKEN
        if notice.status is not NoticeStatus.PENDING or notice.send_on > today:
            return SendResult.TAKEN
        if invoice.status is not InvoiceStatus.UNPAID:
            reason = invoice_plan.PAID
            if invoice.status is InvoiceStatus.CANCELLED:
                reason = invoice_plan.CANCELLED
            _move(session, notice.id, NoticeStatus.CANCELLED, reason)
            return SendResult.CANCELLED
        if _later_level_due(session, notice, today):
            _move(session, notice.id, NoticeStatus.CANCELLED, SUPERSEDED)
            return SendResult.SUPERSEDED
        if not _move(session, notice.id, NoticeStatus.SENT, None):
            return SendResult.TAKEN
        status, detail = _deliver(session, runtime, invoice, notice, today)
        session.execute(
            update(InvoiceNotice)
            .where(InvoiceNotice.id == notice.id)
            .values(status=status, detail=detail, batch_key=f"invoice-notice-{notice.id}"),
            execution_options={"synchronize_session": False},
        )
        log.info(
            "invoice notice",
            extra={"notice_id": notice.id, "invoice_id": invoice.id, "status": status.value},
        )
        return SendResult(status.value)


def _send_batch(
    runtime: Runtime, batch: Sequence[DueNotice], today: date, counts: dict[SendResult, int]
) -> bool:
    """Send one batch; whether any notice in it was settled (not left to another worker)."""
    progress = False
    for due in batch:
        try:
            result = send_notice(runtime, due, today=today)
        except Exception:
            # A database error on one notice must not stop the others; it stays pending and
            # is tried again at the next round.
            log.exception("invoice notice failed", extra={"notice_id": due.notice_id})
            continue
        counts[result] = counts.get(result, 0) + 1
        progress = progress or result is not SendResult.TAKEN
    return progress


def send_due_notices(runtime: Runtime, *, today: date, limit: int = BATCH) -> dict[SendResult, int]:
    """Send every notice due by `today` (the office's local date), batch after batch, until
    none is left or a batch settles nothing (the rest is held by other workers or keeps
    failing: the next round tries again). Returns how many ended how."""
    counts: dict[SendResult, int] = {}
    while batch := due_notices(runtime, today=today, limit=limit):
        if not _send_batch(runtime, batch, today, counts) or len(batch) < limit:
            break
    return counts


def upcoming_notices(session: Session, *, start: date, end: date) -> list[UpcomingNotice]:
    """Pending notices of unpaid invoices of the session's company due from `start` to `end`
    (both included), by day."""
    ladder = dunning.get_ladder(session)
    rows = session.execute(
        select(InvoiceNotice, Invoice, Client.name)
        .join(Invoice, Invoice.id == InvoiceNotice.invoice_id)
        .join(Client, Client.id == Invoice.client_id)
        .where(
            InvoiceNotice.status == NoticeStatus.PENDING,
            Invoice.status == InvoiceStatus.UNPAID,
            InvoiceNotice.send_on >= start,
            InvoiceNotice.send_on <= end,
        )
        .order_by(InvoiceNotice.send_on, Client.name, Invoice.number, InvoiceNotice.level)
    )
    found = []
    for notice, invoice, client_name in rows:
        level = ladder.level(notice.level)
        found.append(
            UpcomingNotice(
                date=notice.send_on,
                client_id=invoice.client_id,
                client_name=client_name,
                invoice_id=invoice.id,
                invoice_number=invoice.number,
                level=notice.level,
                level_name=level.name if level is not None else None,
                amount=invoice.amount,
                currency=invoice.currency,
            )
        )
    return found
