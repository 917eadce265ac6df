"""Checking a registered invoice's fields: number, client, amount, currency, dates, PDF."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pycountry
from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.models import User
from postroom.db.models_outbox import StoredFile
from postroom.errors import NotFoundError, ValidationError
from postroom.services import clients, files
from postroom.storage.files import StoredBlobMissingError

MAX_NUMBER_CHARS = 100
# Numeric(14, 2): twelve digits before the point, two after; no sign, no exponent, a dot.
_AMOUNT = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
# ISO 32000-1, 7.5.2 and Annex H: readers look for "%PDF-" within the first 1024 bytes.
PDF_MAGIC = b"%PDF-"
PDF_HEADER_WINDOW = 1024


@dataclass(frozen=True)
class InvoiceInput:
    """An invoice as the host application sends it (amount as decimal text, "1234.50")."""

    number: str
    client_id: int
    amount: str
    currency: str
    due_date: date
    issue_date: date | None = None
    file_id: int | None = None


@dataclass(frozen=True)
class CheckedInvoice:
    number: str
    client_id: int
    amount: Decimal
    currency: str
    due_date: date
    issue_date: date | None
    file: StoredFile | None


def _number_problem(number: str) -> str | None:
    if not number:
        return "The invoice number is empty; give the number printed on the invoice."
    if len(number) > MAX_NUMBER_CHARS:
        return f"The invoice number is longer than {MAX_NUMBER_CHARS} characters."
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in number):
        return "The invoice number must be one line without control characters."
    return None


def parse_amount(text: str) -> Decimal:
    value = text.strip()
    if not _AMOUNT.match(value):
        raise ValidationError.for_field(
            "amount",
            f"{text!r} is not an amount: write it as a decimal string with a dot and at most "
            'two decimal places, e.g. "1234.50".',
            "invalid_amount",
        )
    amount = Decimal(value)
    if amount <= 0:
        raise ValidationError.for_field(
            "amount", "The amount must be greater than zero.", "amount_not_positive"
        )
    return amount


def parse_currency(text: str) -> str:
    code = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code) or pycountry.currencies.get(alpha_3=code) is None:
        raise ValidationError.for_field(
            "currency",
            f"{text!r} is not an ISO 4217 currency code; use three letters such as PLN or EUR.",
            "invalid_currency",
        )
    return code


def _check_client(session: Session, client_id: int) -> None:
    try:
        clients.get_client(session, client_id)
    except NotFoundError as exc:
        raise ValidationError.for_field("client_id", exc.message, "unknown_client") from exc


def is_pdf(settings: Settings, row: StoredFile) -> bool:
    """Whether the stored bytes are a PDF by their header, whatever name or type was given."""
    with files.file_store(settings).open(row.storage_key) as handle:
        return PDF_MAGIC in handle.read(PDF_HEADER_WINDOW)


def check_pdf(session: Session, *, actor: User, settings: Settings, file_id: int) -> StoredFile:
    try:
        row = files.get_file(session, actor=actor, file_id=file_id)
        pdf = is_pdf(settings, row)
    except (NotFoundError, StoredBlobMissingError) as exc:
        raise ValidationError.for_field(
            "file_id", f"File {file_id} does not exist; upload the PDF first.", "unknown_file"
        ) from exc
    if not pdf:
        raise ValidationError.for_field(
            "file_id",
            f"File {file_id} ({row.filename}) is not a PDF: its content does not start with "
            "%PDF-. Upload the invoice as a PDF.",
            "not_a_pdf",
        )
    return row


def check_invoice(
    session: Session, *, actor: User, settings: Settings, data: InvoiceInput
) -> CheckedInvoice:
    number = data.number.strip()
    problem = _number_problem(number)
    if problem:
        raise ValidationError.for_field("number", problem, "invalid_number")
    amount, currency = parse_amount(data.amount), parse_currency(data.currency)
    if data.issue_date is not None and data.issue_date > data.due_date:
        raise ValidationError.for_field(
            "due_date",
            f"The due date {data.due_date.isoformat()} is before the issue date "
            f"{data.issue_date.isoformat()}.",
            "due_before_issue",
        )
    _check_client(session, data.client_id)
    stored = None
    if data.file_id is not None:
        stored = check_pdf(session, actor=actor, settings=settings, file_id=data.file_id)
    return CheckedInvoice(
        number, data.client_id, amount, currency, data.due_date, data.issue_date, stored
    )
