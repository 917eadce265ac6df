"""The built-in dunning ladder (used until the office sets its own), in Polish and English."""

# Three steps, as accounting software usually ships them: a friendly reminder shortly before
# the due date, a demand for payment a week after it, a final demand three weeks after it.
# The texts are Jinja templates over the variables of services/notice_message.py.

from __future__ import annotations

from dataclasses import dataclass

from postroom.enums import Language


@dataclass(frozen=True)
class DefaultLevel:
    offset_days: int
    name: str
    subject: str
    body: str


_SIGNATURE_PL = "\n\nZ poważaniem\n{{ office_name }}\n"
_SIGNATURE_EN = "\n\nKind regards\n{{ office_name }}\n"
_AMOUNT = "{{ amount|money(currency) }}"

_PL = (
    DefaultLevel(
        -3,
        "Przypomnienie o terminie płatności",
        "Przypomnienie o terminie płatności faktury {{ invoice_number }}",
        "Dzień dobry,\n\nuprzejmie przypominamy, że {{ due_date|date }} upływa termin płatności "
        f"faktury {{{{ invoice_number }}}} na kwotę {_AMOUNT}. Faktura jest w załączniku.\n"
        "Jeśli płatność została już zlecona, prosimy potraktować tę wiadomość jako "
        "nieaktualną." + _SIGNATURE_PL,
    ),
    DefaultLevel(
        7,
        "Wezwanie do zapłaty",
        "Wezwanie do zapłaty – faktura {{ invoice_number }}",
        "Dzień dobry,\n\ntermin płatności faktury {{ invoice_number }} na kwotę "
        f"{_AMOUNT} minął {{{{ due_date|date }}}} (dni po terminie: "
        "{{ days_overdue }}). Prosimy o niezwłoczną zapłatę. Faktura jest w załączniku.\n"
        "Jeśli płatność została już zlecona, prosimy potraktować tę wiadomość jako "
        "nieaktualną." + _SIGNATURE_PL,
    ),
    DefaultLevel(
        21,
        "Ostateczne wezwanie do zapłaty",
        "Ostateczne wezwanie do zapłaty – faktura {{ invoice_number }}",
        "Dzień dobry,\n\nmimo wcześniejszych wezwań faktura {{ invoice_number }} na kwotę "
        f"{_AMOUNT}, płatna do {{{{ due_date|date }}}}, pozostaje nieopłacona (dni po "
        "terminie: {{ days_overdue }}). Prosimy o zapłatę w ciągu 7 dni. Faktura jest w "
        "załączniku." + _SIGNATURE_PL,
    ),
)

_EN = (
    DefaultLevel(
        -3,
        "Payment due date reminder",
        "Payment reminder: invoice {{ invoice_number }}",
        "Hello,\n\nthis is a friendly reminder that invoice {{ invoice_number }} for "
        f"{_AMOUNT} is due on {{{{ due_date|date }}}}. The invoice is attached.\n"
        "If you have already paid it, please disregard this message." + _SIGNATURE_EN,
    ),
    DefaultLevel(
        7,
        "Demand for payment",
        "Demand for payment: invoice {{ invoice_number }}",
        f"Hello,\n\ninvoice {{{{ invoice_number }}}} for {_AMOUNT} was due on "
        "{{ due_date|date }} ({{ days_overdue }} days ago). Please pay it without delay. "
        "The invoice is attached.\nIf you have already paid it, please disregard this "
        "message." + _SIGNATURE_EN,
    ),
    DefaultLevel(
        21,
        "Final demand for payment",
        "Final demand for payment: invoice {{ invoice_number }}",
        f"Hello,\n\ndespite our earlier reminders, invoice {{{{ invoice_number }}}} for "
        f"{_AMOUNT}, due on {{{{ due_date|date }}}}, is still unpaid ({{{{ days_overdue }}}} "
        "days overdue). Please pay it within 7 days. The invoice is attached." + _SIGNATURE_EN,
    ),
)

DEFAULT_LEVELS: dict[Language, tuple[DefaultLevel, ...]] = {Language.PL: _PL, Language.EN: _EN}

# The short line an SMS carries (the subject and body are written for e-mail).
SMS_LINE = {
    Language.PL: "{level_name}: faktura {number}, {amount}, termin płatności {due}. {office}",
    Language.EN: "{level_name}: invoice {number}, {amount}, due {due}. {office}",
}
