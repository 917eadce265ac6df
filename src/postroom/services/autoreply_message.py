"""The autoresponder's answer: built like any message of the account, queued in the outbox.

services/messages.py queues what a user sends (an actor, sender rules, idempotency); an
answer has no user and carries `Auto-Submitted: auto-replied` (RFC 3834 §5), which the MIME
builder has no field for, so it is queued here with the same builder and the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from postroom.db.models import Account
from postroom.db.models_outbox import OutboxBody, OutboxMessage, OutboxRecipient
from postroom.enums import DocumentKind, MessageStatus, RecipientStatus, SentCopyStatus
from postroom.mail import mime
from postroom.mail import mime_checks as checks
from postroom.services.arrivals import Arrival
from postroom.services.messages import limits_of
from postroom.services.runtime import Runtime

# RFC 3834 §5: marks the answer as automatic, so that other responders leave it alone.
# X-Auto-Response-Suppress: Exchange's own way to ask for no further automatic answers.
AUTO_HEADERS = b"Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n"
DEFAULT_PREFIX = "Auto"  # RFC 3834 §3.1.5 suggests "Auto:" before the original subject


@dataclass(frozen=True)
class Autoreply:
    built: mime.BuiltMessage
    subject: str


def _valid_id(value: str) -> bool:
    return not list(checks.message_id_field("id", value))


def answer_subject(prefix: str, original: str) -> str:
    """ "<prefix>: <original subject>" (RFC 3834 §3.1.5), one line, within the header limit."""
    prefix = " ".join(prefix.split()) or DEFAULT_PREFIX
    original = " ".join(original.split())
    if not original:
        return prefix[: checks.MAX_SUBJECT_CHARS]
    return f"{prefix}: {original}"[: checks.MAX_SUBJECT_CHARS]


def _threading(arrival: Arrival) -> tuple[str | None, tuple[str, ...]]:
    """In-Reply-To the message, References its thread then it (RFC 3834 §3.1.5, RFC 5322)."""
    message = arrival.message
    parent = message.message_id_header if message.message_id_header else None
    if parent is not None and not _valid_id(parent):
        parent = None
    earlier = [r for r in (message.references or "").split() if _valid_id(r)]
    chain = [*earlier, parent] if parent else earlier
    return parent, tuple(chain[-checks.MAX_REFERENCES :])


def build_autoreply(
    runtime: Runtime, account: Account, arrival: Arrival, recipient: str
) -> Autoreply:
    """The answer's MIME, or ValidationError when it cannot be built (an address that cannot
    be sent to, say)."""
    in_reply_to, references = _threading(arrival)
    subject = answer_subject(account.autoresponder_subject, arrival.message.subject)
    draft = mime.MessageDraft(
        sender=mime.Mailbox(account.email_address, account.display_name),
        to=(mime.Mailbox(recipient),),
        subject=subject,
        text=account.autoresponder_text,
        header_html=account.header_html,
        signature_html=account.signature_html,
        in_reply_to=in_reply_to,
        references=references,
        envelope_from=account.email_address,
    )
    built = mime.build_message(
        draft, limits=limits_of(runtime), message_id_domain=runtime.settings.message_id_domain
    )
    marked = mime.BuiltMessage(
        raw=AUTO_HEADERS + built.raw,
        message_id=built.message_id,
        envelope_from=built.envelope_from,
        recipients=built.recipients,
    )
    return Autoreply(marked, subject)


def enqueue_autoreply(
    session: Session, runtime: Runtime, account: Account, reply: Autoreply, *, now: datetime
) -> OutboxMessage:
    """Queued from the account itself; no Sent copy (an automatic answer is not the user's
    correspondence, as with Exchange's out-of-office)."""
    built = reply.built
    row = OutboxMessage(
        company_id=account.company_id,
        created_by_user_id=None,
        account_id=account.id,
        via_relay=False,
        document_kind=DocumentKind.OTHER,
        status=MessageStatus.QUEUED,
        message_id=built.message_id,
        envelope_from=built.envelope_from,
        subject=reply.subject,
        body=OutboxBody(company_id=account.company_id, mime=built.raw),
        size=len(built.raw),
        next_attempt_at=now,
        deadline_at=now + timedelta(hours=runtime.settings.send_retry_deadline_hours),
        sent_copy_status=SentCopyStatus.NOT_NEEDED,
        created_at=now,
        recipients=[
            OutboxRecipient(
                company_id=account.company_id,
                address=r.address,
                kind=r.kind,
                status=RecipientStatus.PENDING,
            )
            for r in built.recipients
        ],
    )
    session.add(row)
    session.flush()
    return row
