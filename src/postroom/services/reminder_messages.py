"""The text of a deadline reminder, in Polish or English, quoting the host's amount or documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from postroom.db.models import Company
from postroom.db.tenancy import company_of
from postroom.enums import Language, ReminderKind
from postroom.services.deadlines import Period
from postroom.services.reminder_data import ReminderFacts
from postroom.services.template_filters import format_date, money

_KIND = {
    Language.PL: {
        ReminderKind.VAT: "podatek VAT",
        ReminderKind.INCOME_TAX: "zaliczka na podatek dochodowy (PIT/CIT)",
        ReminderKind.ZUS: "składki ZUS",
        ReminderKind.DOCUMENTS: "dokumenty dla biura",
    },
    Language.EN: {
        ReminderKind.VAT: "VAT",
        ReminderKind.INCOME_TAX: "income tax advance (PIT/CIT)",
        ReminderKind.ZUS: "social contributions (ZUS)",
        ReminderKind.DOCUMENTS: "documents for the office",
    },
}
_ROMAN = ("I", "II", "III", "IV")
_SMS_DOCUMENTS_CHARS = 80  # an SMS names the first documents; the e-mail and feed list all


@dataclass(frozen=True)
class ReminderText:
    subject: str
    text: str
    sms_text: str


def office_name(session: Session) -> str:
    company = session.get(Company, company_of(session))
    return company.name if company is not None else ""


def kind_label(kind: ReminderKind, language: Language) -> str:
    return _KIND[language][kind]


def period_label(period: Period, language: Language) -> str:
    """ "10.2026" / "III kwartał 2026" (pl), "10/2026" / "Q3 2026" (en)."""
    if period.quarter is not None:
        if language is Language.PL:
            return f"{_ROMAN[period.quarter - 1]} kwartał {period.year}"
        return f"Q{period.quarter} {period.year}"
    separator = "." if language is Language.PL else "/"
    return f"{period.month:02d}{separator}{period.year}"


def _day(value: date, language: Language, style: str = "short") -> str:
    return format_date(value, style, locale=language.value)


def _polish(kind: ReminderKind, what: str, when: str, facts: ReminderFacts | None) -> list[str]:
    if kind is ReminderKind.DOCUMENTS:
        lines = [f"przypominamy o dostarczeniu do biura dokumentów za {what} do {when}."]
        if facts is not None and facts.documents:
            lines += ["", "Potrzebujemy:", *(f"- {name}" for name in facts.documents)]
        return lines
    lines = [f"przypominamy o terminie płatności: {what}, termin {when}."]
    if facts is not None and facts.amount is not None:
        lines.append(f"Kwota do zapłaty: {money(facts.amount, facts.currency, 'pl')}.")
    return lines


def _english(kind: ReminderKind, what: str, when: str, facts: ReminderFacts | None) -> list[str]:
    if kind is ReminderKind.DOCUMENTS:
        lines = [f"this is a reminder to deliver your documents for {what} by {when}."]
        if facts is not None and facts.documents:
            lines += ["", "We need:", *(f"- {name}" for name in facts.documents)]
        return lines
    lines = [f"this is a reminder of a payment: {what}, due on {when}."]
    if facts is not None and facts.amount is not None:
        lines.append(f"Amount to pay: {money(facts.amount, facts.currency, 'en')}.")
    return lines


def _sms(
    kind: ReminderKind, what: str, when: str, facts: ReminderFacts | None, language: Language
) -> str:
    parts = [f"{what}: {'termin' if language is Language.PL else 'due'} {when}"]
    if facts is not None and facts.amount is not None:
        parts.append(money(facts.amount, facts.currency, language.value))
    if kind is ReminderKind.DOCUMENTS and facts is not None and facts.documents:
        names = ", ".join(facts.documents)
        if len(names) > _SMS_DOCUMENTS_CHARS:
            names = names[: _SMS_DOCUMENTS_CHARS - 1] + "…"
        parts.append(names)
    return ", ".join(parts)


def reminder_text(
    *,
    kind: ReminderKind,
    period: Period,
    deadline: date,
    facts: ReminderFacts | None,
    language: Language,
    office: str,
) -> ReminderText:
    """Subject, body and SMS text of one reminder."""
    label = kind_label(kind, language)
    term = period_label(period, language)
    when = _day(deadline, language)
    if language is Language.PL:
        subject = f"Przypomnienie: {label} za {term} – termin {when}"
        body = _polish(kind, f"{label} za {term}", _day(deadline, language, "long"), facts)
        greeting, closing = "Dzień dobry,", "Pozdrawiamy"
    else:
        subject = f"Reminder: {label} for {term}, due {when}"
        body = _english(kind, f"{label} for {term}", _day(deadline, language, "long"), facts)
        greeting, closing = "Hello,", "Kind regards"
    note = [facts.note] if facts is not None and facts.note else []
    lines = [greeting, "", *body, *(["", *note] if note else []), "", closing, office]
    sms = _sms(kind, f"{label} {term}", when, facts, language)
    return ReminderText(
        subject=subject,
        text="\n".join(lines).strip() + "\n",
        sms_text=f"{office}: {sms}" if office else sms,
    )
