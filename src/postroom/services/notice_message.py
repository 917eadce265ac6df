"""The text of one dunning notice: its level's template rendered with the invoice's variables."""

# Variables a level's subject and body (or its company template) may use:
#   invoice_number, amount (a decimal: {{ amount|money(currency) }}), currency,
#   due_date and issue_date (dates: {{ due_date|date }}; issue_date may be empty),
#   days_overdue (0 before the due date), days_until_due (0 after it),
#   client_name, office_name, level (1, 2, 3…), level_name.

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from postroom.db.models_channels import Invoice
from postroom.enums import DocumentKind, Language
from postroom.services import templates
from postroom.services.client_notify import ClientMessage
from postroom.services.dunning_texts import SMS_LINE
from postroom.services.template_filters import format_date, money
from postroom.services.template_render import (
    DEFAULT_LIMITS,
    CompiledTemplate,
    RenderLimits,
    compile_sources,
    compile_version,
    render,
)

VARIABLES = (
    "invoice_number",
    "amount",
    "currency",
    "due_date",
    "issue_date",
    "days_overdue",
    "days_until_due",
    "client_name",
    "office_name",
    "level",
    "level_name",
)


@dataclass(frozen=True)
class LevelText:
    """Where a level's text comes from: a company template, or its own subject and body."""

    position: int
    name: str
    subject: str = ""
    body: str = ""
    template_id: int | None = None


def compile_level(
    session: Session,
    text: LevelText,
    *,
    language: Language,
    limits: RenderLimits = DEFAULT_LIMITS,
) -> CompiledTemplate:
    """The level's template compiled; TemplateRenderError or NotFoundError when it cannot be."""
    if text.template_id is not None:
        version = templates.get_version(session, text.template_id)  # the current version
        return compile_version(version, language=language, limits=limits)
    return compile_sources(text.subject, "", text.body, language=language, limits=limits)


def notice_variables(
    *,
    number: str,
    amount: Decimal,
    currency: str,
    due_date: date,
    issue_date: date | None,
    client_name: str,
    office_name: str,
    text: LevelText,
    on: date,
) -> dict[str, Any]:
    late = (on - due_date).days
    return {
        "invoice_number": number,
        "amount": amount,
        "currency": currency,
        "due_date": due_date,
        "issue_date": issue_date,
        "days_overdue": max(0, late),
        "days_until_due": max(0, -late),
        "client_name": client_name,
        "office_name": office_name,
        "level": text.position,
        "level_name": text.name,
    }


def sample_variables(text: LevelText) -> dict[str, Any]:
    """Values of the right types, to check a level's template before it is saved."""
    return notice_variables(
        number="FV/1/2026",
        amount=Decimal("1234.56"),
        currency="PLN",
        due_date=date(2026, 11, 20),
        issue_date=date(2026, 11, 6),
        client_name="Klient Sp. z o.o.",
        office_name="Biuro Rachunkowe",
        text=text,
        on=date(2026, 11, 27),
    )


def _sms_text(variables: Mapping[str, Any], language: Language) -> str:
    return (
        SMS_LINE[language]
        .format(
            level_name=variables["level_name"],
            number=variables["invoice_number"],
            amount=money(variables["amount"], variables["currency"], locale=language.value),
            due=format_date(variables["due_date"], "short", locale=language.value),
            office=variables["office_name"],
        )
        .strip()
    )


def build_message(
    compiled: CompiledTemplate,
    invoice: Invoice,
    *,
    client_name: str,
    office_name: str,
    text: LevelText,
    on: date,
) -> ClientMessage:
    """The notice for the client's channels, the invoice's PDF attached. Every level is a
    payment reminder (DocumentKind.PAYMENT_REMINDER), the first one too: the invoice itself
    was sent when it was issued; this message reminds of it."""
    variables = notice_variables(
        number=invoice.number,
        amount=invoice.amount,
        currency=invoice.currency,
        due_date=invoice.due_date,
        issue_date=invoice.issue_date,
        client_name=client_name,
        office_name=office_name,
        text=text,
        on=on,
    )
    rendered = render(compiled, variables)
    return ClientMessage(
        subject=rendered.subject,
        text=rendered.text,
        sms_text=_sms_text(variables, compiled.language),
        attachment_file_ids=(invoice.file_id,) if invoice.file_id is not None else (),
        document_kind=DocumentKind.PAYMENT_REMINDER,
    )
