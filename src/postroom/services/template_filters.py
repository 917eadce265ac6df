"""Template filters for Polish business documents: amounts of money, numbers and dates (pl, en)."""

# Written out here rather than taken from a locale library: two languages, three formats, and
# the output must not depend on the server's locale settings. Amounts use no-break spaces
# (U+00A0) between digit groups and before "zł", so "1 234,56 zł" never wraps inside a line
# of a document.

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from jinja2 import Undefined

from postroom.enums import Language
from postroom.services.template_limits import current

NBSP = "\xa0"
_MAX_AMOUNT = Decimal(10) ** 15  # a quadrillion: beyond any invoice, and beyond float precision
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_SYMBOLS = {
    Language.PL: {"PLN": "zł", "EUR": "€"},
    Language.EN: {"EUR": "€", "USD": "$", "GBP": "£"},
}
_SEPARATORS = {Language.PL: (NBSP, ","), Language.EN: (",", ".")}
_MONTHS = {
    Language.PL: (
        "stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca",
        "lipca", "sierpnia", "września", "października", "listopada", "grudnia",
    ),
    Language.EN: (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip
_POLISH_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
DATE_FORMATS = ("short", "long", "iso")


def _language(locale: str | None) -> Language:
    if locale is None:
        return current().language
    try:
        return Language(locale)
    except ValueError:
        raise ValueError(f"unknown locale {locale!r}: use 'pl' or 'en'") from None


def _decimal_text(text: str) -> Decimal:
    """ "1234.56", "1234,56", "1 234,56", "1,234.56": the last separator is the decimal one."""
    cleaned = text.strip().replace(" ", "").replace(NBSP, "")
    if "," in cleaned and "." in cleaned:
        thousands = "." if cleaned.rfind(",") > cleaned.rfind(".") else ","
        cleaned = cleaned.replace(thousands, "")
    cleaned = cleaned.replace(",", ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount; write it like 1234.56") from None


def _amount(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("true/false is not an amount")
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))  # 0.1 stays 0.1, not 0.1000000000000000055…
    elif isinstance(value, str):
        amount = _decimal_text(value)
    else:
        raise ValueError(f"a {type(value).__name__} is not an amount")
    if not amount.is_finite() or abs(amount) >= _MAX_AMOUNT:
        raise ValueError(f"{value!r} is not an amount that can be written out")
    return amount


def _grouped(amount: Decimal, decimals: int, language: Language) -> str:
    if not 0 <= decimals <= 6:
        raise ValueError("decimals must be between 0 and 6")
    rounded = amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    thousands, point = _SEPARATORS[language]
    groups = [whole[max(0, end - 3) : end] for end in range(len(whole), 0, -3)][::-1]
    sign = "-" if rounded < 0 else ""
    return sign + thousands.join(groups) + (point + fraction if fraction else "")


def number(value: object, decimals: int = 2, locale: str | None = None) -> str:
    """`{{ 1234.5|number }}` → "1 234,50" (pl), "1,234.50" (en)."""
    if isinstance(value, Undefined):
        return str(value)  # a missing variable fails here, naming itself
    return _grouped(_amount(value), decimals, _language(locale))


def money(
    value: object, currency: str = "PLN", locale: str | None = None, decimals: int = 2
) -> str:
    """`{{ 1234.56|money("PLN") }}` → "1 234,56 zł" (pl), "PLN 1,234.56" (en);
    `money("EUR")` → "1 234,56 €" (pl), "€1,234.56" (en)."""
    if isinstance(value, Undefined):
        return str(value)
    language = _language(locale)
    text = _grouped(_amount(value), decimals, language)
    code = (currency or "").upper()
    if not code:
        return text
    if not _CURRENCY.match(code):
        raise ValueError(f"{currency!r} is not a currency code such as PLN or EUR")
    symbol = _SYMBOLS[language].get(code)
    if language is Language.PL:
        return f"{text}{NBSP}{symbol or code}"
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{code}{NBSP}{digits}"


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a {type(value).__name__} is not a date")
    text = value.strip()
    polish = _POLISH_DATE.match(text)
    try:
        if polish:
            return date(int(polish[3]), int(polish[2]), int(polish[1]))
        if len(text) > 10:
            return datetime.fromisoformat(text).date()
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a date; write it like 2026-11-23") from None


def format_date(value: object, style: str = "short", locale: str | None = None) -> str:
    """`{{ due|date }}` → "23.11.2026" (pl), "23 Nov 2026" (en); `date("long")` →
    "23 listopada 2026", "23 November 2026"; `date("iso")` → "2026-11-23"."""
    if isinstance(value, Undefined):
        return str(value)
    if style not in DATE_FORMATS:
        raise ValueError(f"unknown date format {style!r}: use short, long or iso")
    day, language = _day(value), _language(locale)
    if style == "iso":
        return day.isoformat()
    month = _MONTHS[language][day.month - 1]
    if style == "long":
        return f"{day.day} {month} {day.year}"
    if language is Language.PL:
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    return f"{day.day} {month[:3]} {day.year}"


FILTERS = {"money": money, "number": number, "date": format_date}
