"""Words and shapes of the client pages: channel, status, period and kind labels, refusals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from postroom.db.models_crm import Client
from postroom.enums import Channel, CommunicationStatus, ReminderKind, TaxPeriod
from postroom.errors import PostroomError, ValidationError
from postroom.services.client_channels import SWITCHES
from postroom.services.client_notify import CHANNEL_ORDER
from postroom.web.i18n import N_, Translator

CHANNEL_LABELS = {
    Channel.EMAIL: N_("E-mail"),
    Channel.SMS: N_("SMS"),
    Channel.INAPP: N_("In-app"),
    Channel.WEBPUSH: N_("Web Push"),
}
STATUS_LABELS = {
    CommunicationStatus.QUEUED: N_("Queued"),
    CommunicationStatus.SENT: N_("Sent"),
    CommunicationStatus.DELIVERED: N_("Delivered"),
    CommunicationStatus.FAILED: N_("Failed"),
    CommunicationStatus.SKIPPED: N_("Skipped"),
}
# Why a channel carried nothing: services/client_notify_channels.py keeps these sentences in
# the history in English; the pages translate them by their text (a test keeps both the same).
SKIP_REASONS = (
    N_("The client has no contact persons; add one to reach the client."),
    N_(
        "The company has no active administrator to send automatic e-mail as; "
        "make an active user an administrator."
    ),
    N_("SMS is off for the office; an administrator can turn it on in the office settings."),
    N_("No contact person of the client has a phone number; add one to reach them by SMS."),
    N_(
        "No browser has subscribed to the client's notifications; send the contact persons "
        "their subscription page."
    ),
)
STATUS_TONES = {
    CommunicationStatus.QUEUED: "wait",
    CommunicationStatus.SENT: "ok",
    CommunicationStatus.DELIVERED: "ok",
    CommunicationStatus.FAILED: "bad",
    CommunicationStatus.SKIPPED: "warn",
}
PERIOD_LABELS = {
    TaxPeriod.MONTHLY: N_("Monthly"),
    TaxPeriod.QUARTERLY: N_("Quarterly"),
    TaxPeriod.NONE: N_("Not liable"),
}
KIND_LABELS = {
    ReminderKind.VAT: N_("VAT payment"),
    ReminderKind.INCOME_TAX: N_("PIT/CIT advance"),
    ReminderKind.ZUS: N_("ZUS contributions"),
    ReminderKind.DOCUMENTS: N_("Documents to deliver"),
}
SOURCE_LABELS = {
    "notify": N_("Message"),
    "reminder": N_("Reminder"),
    "invoice_notice": N_("Invoice notice"),
}
# The services' refusals by code, in the visitor's language; the English texts are the
# services' own sentences where they are fixed (client_channels.SMS_NOT_ENABLED).
ERROR_TEXTS = {
    "sms_not_enabled": N_(
        "SMS is not enabled for the office: an administrator must turn SMS on in the office "
        "settings and accept its cost before SMS can be turned on for a client."
    ),
    "no_channel_enabled": N_(
        "Every channel of this client is off, so the message would reach no one; turn a "
        "channel on for the client first."
    ),
    "price_list_not_accepted": N_(
        "Turning SMS on needs accepting its cost: tick the box that accepts the price list."
    ),
    "price_list_mismatch": N_(
        "The price list has changed since the page was shown; read the current one and accept it."
    ),
    "sms_not_configured": N_(
        "This installation has no SMS provider; its operator sets POSTROOM_SMS_PROVIDER."
    ),
    "invalid_sender_name": N_(
        "A sender name has 1 to 11 characters: Latin letters (at least one), digits, spaces, "
        "dots or hyphens, e.g. BiuroAlfa; register it with the SMS provider first."
    ),
    "sms_too_long": N_("An SMS may have at most 1600 characters; shorten the text."),
    "client_exists": N_("A client with this domain already exists."),
    "contact_exists": N_("A contact with this e-mail already exists."),
    "invalid_domain": N_("This is not a domain name (like firma.pl)."),
    "invalid_email": N_("This is not a valid e-mail address."),
    "out_of_range": N_(
        "Days before the deadline are 0 to 31, and the day of the month 1 to 28 (a day every "
        "month has)."
    ),
    "name_required": N_("Give the client a name."),
    "subject_required": N_("Write a subject and a text."),
    "invalid_phone": N_("A phone number has digits, spaces, +, ( ) and hyphens only."),
    "invalid_zus_day": N_(
        "ZUS contributions are due on the 15th or the 20th; choose one, or none when the client "
        "pays no contributions."
    ),
    "invalid_period": N_(
        "Choose how often the client settles the tax: monthly, quarterly, or not liable."
    ),
    "invalid_documents_day": N_(
        "The documents day is a day of the month from 1 to 28, or none when the client delivers "
        "no documents."
    ),
}


@dataclass(frozen=True)
class Switch:
    """One channel switch of a client, as the list and the client page show it."""

    channel: Channel
    label: str
    on: bool


def switches(client: Client) -> list[Switch]:
    return [
        Switch(channel, CHANNEL_LABELS[channel], bool(getattr(client, SWITCHES[channel])))
        for channel in CHANNEL_ORDER
    ]


def error_text(exc: PostroomError, translate: Translator) -> str:
    """The refusal in the visitor's language when its code is known, else the service's own
    sentence (English), which always says what is wrong."""
    code = exc.problems[0].code if isinstance(exc, ValidationError) and exc.problems else exc.code
    known = ERROR_TEXTS.get(code)
    return translate(known) if known else exc.message


def optional_int(value: Any) -> int | None:
    """A drop-down's value: "" (and anything that is not a whole number, which the lists never
    offer) is none; numbers out of range go on to the service, which refuses them."""
    text = str(value or "").strip()
    if not text:
        return None
    return int(text) if text.lstrip("-").isdigit() else None


def day_choices(low: int, high: int) -> list[int]:
    return list(range(low, high + 1))


def labels() -> dict[str, Any]:
    """What every client template needs to name things."""
    return {
        "channel_labels": CHANNEL_LABELS,
        "status_labels": STATUS_LABELS,
        "status_tones": STATUS_TONES,
        "period_labels": PERIOD_LABELS,
        "kind_labels": KIND_LABELS,
        "source_labels": SOURCE_LABELS,
    }
