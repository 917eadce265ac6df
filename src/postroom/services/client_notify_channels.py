"""How each channel carries a client message: e-mail (outbox), SMS, in-app, Web Push."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.db.models_channels import PushSubscription
from postroom.db.models_crm import Client, Contact, Notification
from postroom.enums import Channel, CommunicationStatus, DocumentKind
from postroom.errors import ValidationError
from postroom.services import messages, push_queue, sms_office, sms_queue
from postroom.services.message_schemas import AttachmentRef, MessageCreate, RecipientIn
from postroom.services.office_sender import first_admin
from postroom.services.runtime import Runtime

CLIENT_MESSAGE = "client_message"  # Notification.kind of messages to a client's contacts
_TITLE_CHARS = 500
_LINK_CHARS = 1000
# An SMS made from the text: two GSM-7 segments (2 × 153), four UCS-2 ones (4 × 67).
SMS_CHARS = 268
_SPACES = re.compile(r"\s+")

# The reasons a channel carries nothing, in English; the web UI translates them by their text.
NO_CONTACTS = "The client has no contact persons; add one to reach the client."
NO_EMAIL_SENDER = (
    "The company has no active administrator to send automatic e-mail as; "
    "make an active user an administrator."
)
SMS_OFF = "SMS is off for the office; an administrator can turn it on in the office settings."
NO_PHONE = "No contact person of the client has a phone number; add one to reach them by SMS."
NO_SUBSCRIPTION = (
    "No browser has subscribed to the client's notifications; send the contact persons "
    "their subscription page."
)


@dataclass(frozen=True)
class ChannelJob:
    """One channel's share of one message to a client."""

    runtime: Runtime
    client: Client
    actor: User | None
    communication_id: int
    subject: str
    text: str
    sms_text: str | None
    url: str | None
    attachment_file_ids: tuple[int, ...]
    document_kind: DocumentKind


@dataclass(frozen=True)
class Attempt:
    status: CommunicationStatus
    detail: str | None = None
    recipients: tuple[str, ...] = field(default_factory=tuple)
    outbox_message_id: int | None = None


def contacts_of(session: Session, client: Client) -> list[Contact]:
    return list(
        session.scalars(select(Contact).where(Contact.client_id == client.id).order_by(Contact.id))
    )


def _skipped(reason: str) -> Attempt:
    return Attempt(CommunicationStatus.SKIPPED, reason)


def _mail_text(job: ChannelJob) -> str:
    if job.url and job.url not in job.text:
        return f"{job.text}\n\n{job.url}"
    return job.text


def send_email(session: Session, job: ChannelJob) -> Attempt:
    """One message to every contact with an address (all in To): they are colleagues of one
    client company, the history row holds one outbox message, and the relay counts one
    document (B5) instead of one per person."""
    contacts = [c for c in contacts_of(session, job.client) if c.email.strip()]
    if not contacts:
        return _skipped(NO_CONTACTS)
    sender = job.actor if job.actor is not None else first_admin(session)
    if sender is None:
        return Attempt(CommunicationStatus.FAILED, NO_EMAIL_SENDER)
    request = MessageCreate(
        to=[RecipientIn(address=c.email, name=c.name) for c in contacts],
        subject=job.subject,
        text=_mail_text(job),
        attachments=[AttachmentRef(file_id=i) for i in job.attachment_file_ids],
        document_kind=job.document_kind,
    )
    row = messages.submit_message(session, actor=sender, request=request, runtime=job.runtime)
    return Attempt(
        CommunicationStatus.QUEUED,
        recipients=tuple(c.email for c in contacts),
        outbox_message_id=row.id,
    )


def sms_body(job: ChannelJob) -> str:
    """The SMS text as given, else subject and text on one line, cut to SMS_CHARS."""
    if job.sms_text and job.sms_text.strip():
        return job.sms_text.strip()
    joined = _SPACES.sub(" ", f"{job.subject}: {job.text}").strip()
    if len(joined) <= SMS_CHARS:
        return joined
    return joined[: SMS_CHARS - 1].rstrip() + "…"


def send_sms(session: Session, job: ChannelJob) -> Attempt:
    """One SMS per contact with a phone. A number the queue refuses is named in the detail;
    the others still go (each number in its own savepoint)."""
    if not sms_office.sms_enabled(session):
        return _skipped(SMS_OFF)
    contacts = [c for c in contacts_of(session, job.client) if (c.phone or "").strip()]
    if not contacts:
        return _skipped(NO_PHONE)
    body = sms_body(job)
    numbers: list[str] = []
    refused: list[str] = []
    for contact in contacts:
        try:
            with session.begin_nested():
                sms = sms_queue.enqueue_sms(
                    session,
                    runtime=job.runtime,
                    to_number=contact.phone or "",
                    body=body,
                    client_id=job.client.id,
                    contact_id=contact.id,
                    communication_id=job.communication_id,
                )
        except ValidationError as exc:
            refused.append(f"{contact.phone}: {exc.message}")
            continue
        numbers.append(sms.to_number)
    detail = " ".join(refused) or None
    if not numbers:
        return Attempt(CommunicationStatus.FAILED, detail)
    return Attempt(CommunicationStatus.QUEUED, detail, tuple(numbers))


def send_inapp(session: Session, job: ChannelJob) -> Attempt:
    """A notification in each contact person's feed: shown as soon as the feed is read."""
    contacts = contacts_of(session, job.client)
    if not contacts:
        return _skipped(NO_CONTACTS)
    session.add_all(
        Notification(
            contact_id=contact.id,
            kind=CLIENT_MESSAGE,
            title=job.subject[:_TITLE_CHARS],
            body=job.text,
            link=job.url[:_LINK_CHARS] if job.url else None,
            data={"client_id": job.client.id, "communication_id": job.communication_id},
        )
        for contact in contacts
    )
    session.flush()
    return Attempt(CommunicationStatus.DELIVERED, recipients=tuple(c.email for c in contacts))


def _push_recipients(session: Session, subscription_ids: list[int]) -> tuple[str, ...]:
    """The contact person's address for each subscription (a browser may belong to none)."""
    rows = session.execute(
        select(PushSubscription.id, Contact.email)
        .outerjoin(Contact, Contact.id == PushSubscription.contact_id)
        .where(PushSubscription.id.in_(subscription_ids))
        .order_by(PushSubscription.id)
    )
    return tuple(email or f"browser {sub_id}" for sub_id, email in rows)


def send_webpush(session: Session, job: ChannelJob) -> Attempt:
    queued = push_queue.enqueue_push(
        session,
        client_id=job.client.id,
        communication_id=job.communication_id,
        title=job.subject,
        body=job.text,
        url=job.url,
    )
    if not queued:
        return _skipped(NO_SUBSCRIPTION)
    recipients = _push_recipients(session, [m.subscription_id for m in queued])
    return Attempt(CommunicationStatus.QUEUED, recipients=recipients)


SENDERS: dict[Channel, Callable[[Session, ChannelJob], Attempt]] = {
    Channel.EMAIL: send_email,
    Channel.SMS: send_sms,
    Channel.INAPP: send_inapp,
    Channel.WEBPUSH: send_webpush,
}
