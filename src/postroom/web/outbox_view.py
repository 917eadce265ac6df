"""The outbox's rows and a message's delivery timeline, as plain values for the templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from postroom.db.models_outbox import OutboxMessage
from postroom.enums import AttemptOutcome, MessageStatus, RecipientKind, RecipientStatus
from postroom.services.campaign_outbox import is_held
from postroom.web.i18n import N_, Translator
from postroom.web.sending_labels import ATTEMPT_OUTCOMES, IN_PROGRESS, SENT_COPIES, human_size

SHOWN_RECIPIENTS = 3  # in an outbox row; the message's page lists them all
EVENT_TITLES = {
    "queued": N_("Queued for sending"),
    "attempt": N_("Attempt {n}"),
    "sending": N_("Being handed to the server now"),
    "retry": N_("Next attempt"),
    "held": N_("Held: the campaign is paused; it goes when the campaign is resumed"),
    "sent": N_("Sent"),
    "copy": N_("Copy in the Sent folder"),
    "bounced": N_("Bounced by {address}"),
    "failed": N_("Not delivered"),
}


@dataclass(frozen=True)
class OutboxRow:
    id: int
    created_at: datetime
    sender: str
    to: list[str]
    more: int  # recipients not shown in the row
    subject: str
    document_kind: str
    status: str
    last_code: int | None
    last_reply: str | None


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime | None
    kind: str  # also the CSS modifier: queued, attempt-ok, attempt-temporary, …
    title: str
    text: str = ""
    code: int | None = None
    reply: str | None = None
    until: datetime | None = None  # a retry's deadline


@dataclass(frozen=True)
class RecipientLine:
    address: str
    kind: str
    status: str
    code: int | None
    reply: str | None
    updated_at: datetime


def outbox_row(message: OutboxMessage) -> OutboxRow:
    visible = [r.address for r in message.recipients if r.kind is not RecipientKind.BCC]
    shown = visible or [r.address for r in message.recipients]
    return OutboxRow(
        id=message.id,
        created_at=message.created_at,
        sender=message.envelope_from,
        to=shown[:SHOWN_RECIPIENTS],
        more=max(0, len(shown) - SHOWN_RECIPIENTS),
        subject=message.subject,
        document_kind=message.document_kind.value,
        status=message.status.value,
        last_code=message.last_code,
        last_reply=message.last_reply,
    )


def in_progress(message: OutboxMessage) -> bool:
    return message.status in IN_PROGRESS


def _attempt_kind(outcome: AttemptOutcome) -> str:
    return {
        AttemptOutcome.SENT: "attempt-ok",
        AttemptOutcome.PERMANENT_FAILURE: "attempt-permanent",
    }.get(outcome, "attempt-temporary")


def _queued(message: OutboxMessage, translate: Translator) -> TimelineEvent:
    size = human_size(message.size, translate.language.value)
    text = translate(
        "{n} recipients, {size}, from {sender}",
        n=len(message.recipients),
        size=size,
        sender=message.envelope_from,
    )
    return TimelineEvent(message.created_at, "queued", translate(EVENT_TITLES["queued"]), text)


def _attempts(message: OutboxMessage, translate: Translator) -> list[TimelineEvent]:
    return [
        TimelineEvent(
            attempt.started_at,
            _attempt_kind(attempt.outcome),
            translate(EVENT_TITLES["attempt"], n=number),
            translate(ATTEMPT_OUTCOMES[attempt.outcome.value]),
            attempt.code,
            attempt.reply,
        )
        for number, attempt in enumerate(message.attempts, start=1)
    ]


def _state(message: OutboxMessage, translate: Translator) -> list[TimelineEvent]:
    """Where the message stands: being sent, waiting for a retry, sent, or given up."""
    status = message.status
    if status is MessageStatus.SENDING:
        return [TimelineEvent(None, "sending", translate(EVENT_TITLES["sending"]))]
    if status in (MessageStatus.QUEUED, MessageStatus.RETRYING) and is_held(message):
        return [TimelineEvent(None, "held", translate(EVENT_TITLES["held"]))]
    if status is MessageStatus.RETRYING or (status is MessageStatus.QUEUED and message.attempts):
        title = translate(EVENT_TITLES["retry"])
        return [TimelineEvent(message.next_attempt_at, "retry", title, until=message.deadline_at)]
    if status is MessageStatus.FAILED:
        last = message.attempts[-1] if message.attempts else None
        at = (last.finished_at or last.started_at) if last else message.next_attempt_at
        title = translate(EVENT_TITLES["failed"])
        return [TimelineEvent(at, "failed", title, "", message.last_code, message.last_reply)]
    if message.sent_at is not None:
        sent = TimelineEvent(message.sent_at, "sent", translate(EVENT_TITLES["sent"]))
        copy_text = translate(SENT_COPIES[message.sent_copy_status.value])
        kind = f"copy-{message.sent_copy_status.value}"
        copy = TimelineEvent(None, kind, translate(EVENT_TITLES["copy"]), copy_text)
        return [sent, copy]
    return []


def _bounces(message: OutboxMessage, translate: Translator) -> list[TimelineEvent]:
    return [
        TimelineEvent(
            r.updated_at,
            "bounced",
            translate(EVENT_TITLES["bounced"], address=r.address),
            "",
            r.code,
            r.reply,
        )
        for r in message.recipients
        if r.status is RecipientStatus.BOUNCED
    ]


def timeline(message: OutboxMessage, translate: Translator) -> list[TimelineEvent]:
    """Created, every attempt with the server's answer, then where it stands, then bounces."""
    return [
        _queued(message, translate),
        *_attempts(message, translate),
        *_state(message, translate),
        *_bounces(message, translate),
    ]


def recipient_lines(message: OutboxMessage) -> list[RecipientLine]:
    return [
        RecipientLine(r.address, r.kind.value, r.status.value, r.code, r.reply, r.updated_at)
        for r in message.recipients
    ]
