"""Invoices the host application registers (seed 003): register, mark paid, cancel, list."""

# The invoice row is the lock every change of its notices takes first (SELECT … FOR UPDATE on
# PostgreSQL): marking it paid and sending one of its notices are serialised, so a payment
# committed before the sender looks at the invoice always cancels the notice.

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, not_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.base import utcnow
from postroom.db.models import User
from postroom.db.models_channels import Invoice, InvoiceNotice
from postroom.db.models_outbox import StoredFile
from postroom.enums import InvoiceStatus
from postroom.errors import ConflictError, NotFoundError, ValidationError
from postroom.services import dunning, invoice_plan
from postroom.services.invoice_checks import CheckedInvoice, InvoiceInput, check_invoice

__all__ = [
    "InvoiceDetail",
    "InvoiceInput",
    "NoticeView",
    "Registered",
    "cancel_invoice",
    "get_invoice",
    "list_invoices",
    "mark_paid",
    "register_invoice",
]
_FUTURE_SLACK = timedelta(days=1)  # clocks and time zones of host applications differ


@dataclass(frozen=True)
class Registered:
    invoice: Invoice
    created: bool  # False: the same invoice was registered before (an idempotent repeat)


@dataclass(frozen=True)
class NoticeView:
    notice: InvoiceNotice
    level_name: str | None  # None: the level is no longer in the office's ladder


@dataclass(frozen=True)
class InvoiceDetail:
    invoice: Invoice
    notices: list[NoticeView]


def _by_number(session: Session, number: str) -> Invoice | None:
    return session.scalar(select(Invoice).where(Invoice.number == number))


def _sha256(session: Session, file_id: int | None) -> str | None:
    if file_id is None:
        return None
    return session.scalar(select(StoredFile.sha256).where(StoredFile.id == file_id))


def _differences(session: Session, existing: Invoice, new: CheckedInvoice) -> list[str]:
    fields = {
        "client_id": (existing.client_id, new.client_id),
        "amount": (existing.amount, new.amount),
        "currency": (existing.currency, new.currency),
        "issue_date": (existing.issue_date, new.issue_date),
        "due_date": (existing.due_date, new.due_date),
    }
    different = [name for name, (old, given) in fields.items() if old != given]
    new_file_id = new.file.id if new.file is not None else None
    # A repeat that uploaded the same PDF again has another file id but the same bytes.
    if existing.file_id != new_file_id and _sha256(session, existing.file_id) != (
        new.file.sha256 if new.file is not None else None
    ):
        different.append("file_id")
    return different


def _same_or_conflict(session: Session, existing: Invoice, new: CheckedInvoice) -> Invoice:
    different = _differences(session, existing, new)
    if different:
        raise ConflictError(
            f"Invoice {existing.number} is already registered (id {existing.id}) with a "
            f"different {', '.join(different)}; an invoice number is registered once. "
            "Send the same data to repeat the registration safely.",
            code="invoice_number_taken",
        )
    return existing


def register_invoice(
    session: Session, *, actor: User, settings: Settings, data: InvoiceInput, today: date
) -> Registered:
    """Register an invoice and plan its notices; the same number with the same data again is
    an idempotent repeat, with other data a ConflictError."""
    checked = check_invoice(session, actor=actor, settings=settings, data=data)
    existing = _by_number(session, checked.number)
    if existing is not None:
        return Registered(_same_or_conflict(session, existing, checked), created=False)
    invoice = Invoice(
        client_id=checked.client_id,
        number=checked.number,
        amount=checked.amount,
        currency=checked.currency,
        issue_date=checked.issue_date,
        due_date=checked.due_date,
        file_id=checked.file.id if checked.file is not None else None,
    )
    try:
        with session.begin_nested():
            session.add(invoice)
    except IntegrityError:
        # Registered at the same moment by another request: the same rule as above.
        existing = _by_number(session, checked.number)
        if existing is None:
            raise
        return Registered(_same_or_conflict(session, existing, checked), created=False)
    invoice_plan.plan_notices(session, invoice, dunning.get_ladder(session).levels, today=today)
    return Registered(invoice, created=True)


def _locked(session: Session, invoice_id: int) -> Invoice:
    invoice = session.scalar(
        select(Invoice)
        .where(Invoice.id == invoice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if invoice is None:
        raise NotFoundError(f"Invoice {invoice_id} does not exist.")
    return invoice


def mark_paid(session: Session, *, invoice_id: int, paid_at: datetime | None = None) -> Invoice:
    """Paid: every pending notice is cancelled in the same transaction. Marking a paid
    invoice paid again changes nothing (its first payment time stays)."""
    if paid_at is not None and paid_at > utcnow() + _FUTURE_SLACK:
        raise ValidationError.for_field(
            "paid_at", "The payment time is in the future.", "paid_at_in_future"
        )
    invoice = _locked(session, invoice_id)
    if invoice.status is InvoiceStatus.PAID:
        return invoice
    if invoice.status is InvoiceStatus.CANCELLED:
        raise ConflictError(
            f"Invoice {invoice.number} was cancelled; a cancelled invoice cannot be paid.",
            code="invoice_cancelled",
        )
    invoice.status, invoice.paid_at = InvoiceStatus.PAID, paid_at or utcnow()
    invoice_plan.cancel_pending(session, invoice.id, invoice_plan.PAID)
    session.flush()
    return invoice


def cancel_invoice(session: Session, *, invoice_id: int) -> Invoice:
    """Withdrawn by the host application: no more notices. Cancelling twice is harmless."""
    invoice = _locked(session, invoice_id)
    if invoice.status is InvoiceStatus.CANCELLED:
        return invoice
    if invoice.status is InvoiceStatus.PAID:
        raise ConflictError(
            f"Invoice {invoice.number} is paid; a paid invoice cannot be cancelled.",
            code="invoice_paid",
        )
    invoice.status = InvoiceStatus.CANCELLED
    invoice_plan.cancel_pending(session, invoice.id, invoice_plan.CANCELLED)
    session.flush()
    return invoice


def list_invoices(
    session: Session,
    *,
    today: date,
    client_id: int | None = None,
    status: InvoiceStatus | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Invoice], int]:
    """Newest due date first; `overdue`: unpaid and past the due date (False: the others)."""
    conditions = []
    if client_id is not None:
        conditions.append(Invoice.client_id == client_id)
    if status is not None:
        conditions.append(Invoice.status == status)
    if overdue is not None:
        late = and_(Invoice.status == InvoiceStatus.UNPAID, Invoice.due_date < today)
        conditions.append(late if overdue else not_(late))
    total = session.scalar(select(func.count()).select_from(Invoice).where(*conditions)) or 0
    rows = session.scalars(
        select(Invoice)
        .where(*conditions)
        .order_by(Invoice.due_date.desc(), Invoice.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def get_invoice(session: Session, invoice_id: int) -> InvoiceDetail:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFoundError(f"Invoice {invoice_id} does not exist.")
    ladder = dunning.get_ladder(session)
    notices = session.scalars(
        select(InvoiceNotice)
        .where(InvoiceNotice.invoice_id == invoice.id)
        .order_by(InvoiceNotice.level)
    )
    views = []
    for notice in notices:
        level = ladder.level(notice.level)
        views.append(NoticeView(notice, level.name if level is not None else None))
    return InvoiceDetail(invoice, views)
