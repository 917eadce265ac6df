"""Words for sending's codes: document kinds, message and recipient statuses, attempt outcomes."""

from __future__ import annotations

from postroom.enums import (
    AttemptOutcome,
    DocumentKind,
    MessageStatus,
    RecipientKind,
    RecipientStatus,
    SentCopyStatus,
)
from postroom.web.i18n import N_

DOCUMENT_KINDS = {
    DocumentKind.OTHER.value: N_("Plain message (not a document)"),
    DocumentKind.INVOICE.value: N_("Invoice"),
    DocumentKind.PAYMENT_REMINDER.value: N_("Payment reminder"),
    DocumentKind.BALANCE_CONFIRMATION.value: N_("Balance confirmation"),
    DocumentKind.INTEREST_NOTE.value: N_("Interest note"),
    DocumentKind.EMPLOYEE_DECLARATION.value: N_("Employee declaration"),
    DocumentKind.PAYSLIP.value: N_("Payslip"),
    DocumentKind.CRM_DOCUMENT.value: N_("CRM document"),
}
# Short names for the outbox table, where "Plain message (not a document)" would not fit.
DOCUMENT_KINDS_SHORT = {**DOCUMENT_KINDS, DocumentKind.OTHER.value: N_("Message")}

MESSAGE_STATUSES = {
    MessageStatus.QUEUED.value: N_("Queued"),
    MessageStatus.SENDING.value: N_("Sending"),
    MessageStatus.RETRYING.value: N_("Retrying"),
    MessageStatus.SENT.value: N_("Sent"),
    MessageStatus.FAILED.value: N_("Failed"),
    MessageStatus.BOUNCED.value: N_("Bounced"),
}
# While a message is in one of these, its page and the outbox refresh themselves.
IN_PROGRESS = frozenset({MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.RETRYING})

RECIPIENT_STATUSES = {
    RecipientStatus.PENDING.value: N_("Waiting"),
    RecipientStatus.ACCEPTED.value: N_("Accepted"),
    RecipientStatus.DEFERRED.value: N_("Deferred"),
    RecipientStatus.REFUSED.value: N_("Refused"),
    RecipientStatus.BOUNCED.value: N_("Bounced"),
}
RECIPIENT_KINDS = {
    RecipientKind.TO.value: N_("To"),
    RecipientKind.CC.value: N_("Cc"),
    RecipientKind.BCC.value: N_("Bcc"),
}
ATTEMPT_OUTCOMES = {
    AttemptOutcome.SENT.value: N_("Accepted by the server"),
    AttemptOutcome.TEMPORARY_FAILURE.value: N_("Temporary failure: will be retried"),
    AttemptOutcome.PERMANENT_FAILURE.value: N_("Permanent failure"),
    AttemptOutcome.NETWORK_ERROR.value: N_("Network error: will be retried"),
}
SENT_COPIES = {
    SentCopyStatus.NOT_NEEDED.value: N_(
        "Not needed: the relay, an account without IMAP, or a provider that files sent mail itself."
    ),
    SentCopyStatus.PENDING.value: N_("Waiting to be stored."),
    SentCopyStatus.DONE.value: N_("Stored in the account's Sent folder."),
    SentCopyStatus.FAILED.value: N_("Could not be stored."),
}
# CSS modifier of each status badge: one colour per state a person acts on differently.
STATUS_TONES = {
    MessageStatus.QUEUED.value: "wait",
    MessageStatus.SENDING.value: "wait",
    MessageStatus.RETRYING.value: "warn",
    MessageStatus.SENT.value: "ok",
    MessageStatus.FAILED.value: "bad",
    MessageStatus.BOUNCED.value: "bad",
    RecipientStatus.PENDING.value: "wait",
    RecipientStatus.ACCEPTED.value: "ok",
    RecipientStatus.DEFERRED.value: "warn",
    RecipientStatus.REFUSED.value: "bad",
}


def human_size(size: int, language: str) -> str:
    """12 KB, 3.4 MB (3,4 MB in Polish); a file under a kilobyte is "1 KB"."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    shown = f"{size / (1024 * 1024):.1f}"
    return (shown.replace(".", ",") if language == "pl" else shown) + " MB"
