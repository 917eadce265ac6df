"""One message to a client over every channel enabled for it (F1), each outcome recorded."""

# Everything happens in the caller's transaction and nothing is committed here: a scheduler
# that inserts its unique "sent" row in the same transaction gets exactly-once. Each channel
# runs inside its own savepoint, so a channel that fails half-way (the third SMS number of
# three refused, a relay limit) leaves nothing of itself behind but its FAILED history row,
# and the other channels go on. docs/decisions.md.

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.db.models_crm import Client
from postroom.enums import Channel, CommunicationStatus, DocumentKind
from postroom.errors import ConflictError, NotFoundError, PostroomError, ValidationError
from postroom.services import client_notify_channels as channels
from postroom.services import communications, files
from postroom.services.runtime import Runtime

# The order outcomes are reported and history rows written in.
CHANNEL_ORDER = (Channel.EMAIL, Channel.SMS, Channel.INAPP, Channel.WEBPUSH)
SOURCE_NOTIFY = "notify"


@dataclass(frozen=True)
class ClientMessage:
    """What to tell the client; `sms_text` is the SMS version (else a shortened `text`)."""

    subject: str
    text: str
    sms_text: str | None = None
    url: str | None = None
    attachment_file_ids: tuple[int, ...] = ()
    document_kind: DocumentKind = DocumentKind.OTHER


@dataclass(frozen=True)
class ChannelOutcome:
    """One channel's result, as recorded in the client's history row `communication_id`."""

    channel: Channel
    status: CommunicationStatus
    detail: str | None
    communication_id: int
    recipients: list[str]


def enabled_channels(client: Client) -> list[Channel]:
    switches = {
        Channel.EMAIL: client.channel_email,
        Channel.SMS: client.channel_sms,
        Channel.INAPP: client.channel_inapp,
        Channel.WEBPUSH: client.channel_webpush,
    }
    return [channel for channel in CHANNEL_ORDER if switches[channel]]


def require_some_channel(client: Client) -> None:
    """A request to notify a client with every channel off would reach no one: say so."""
    if not enabled_channels(client):
        raise ConflictError(
            f"Every channel of client {client.id} is off, so the message would reach no one; "
            "turn a channel on for the client first.",
            code="no_channel_enabled",
        )


def check_attachments(session: Session, *, actor: User, file_ids: tuple[int, ...]) -> None:
    """Refuse unknown files before anything is queued (the e-mail would fail on them)."""
    for index, file_id in enumerate(file_ids):
        try:
            files.get_file(session, actor=actor, file_id=file_id)
        except NotFoundError:
            raise ValidationError.for_field(
                f"attachment_file_ids[{index}]",
                f"There is no file {file_id}; upload it first (POST /files).",
                "unknown_file",
            ) from None


def _attempt(
    session: Session,
    channel: Channel,
    job: channels.ChannelJob,
) -> channels.Attempt:
    """Run one channel in a savepoint; a refusal undoes its part and becomes FAILED."""
    try:
        with session.begin_nested():
            return channels.SENDERS[channel](session, job)
    except PostroomError as exc:
        return channels.Attempt(CommunicationStatus.FAILED, exc.message)


def notify_client(
    session: Session,
    *,
    runtime: Runtime,
    client: Client,
    message: ClientMessage,
    source: str,
    actor: User | None,
    batch_key: str | None = None,
) -> list[ChannelOutcome]:
    """Queue `message` on each channel enabled for `client`, in `session`'s transaction.

    Channels that are off get no row and no outcome; an enabled channel with nothing to send
    to is SKIPPED with the reason. `actor` None: automatic (the scheduler); e-mail goes out
    as the company's first active administrator by the normal sender rules."""
    key = batch_key or uuid.uuid4().hex
    outcomes = []
    for channel in enabled_channels(client):
        row = communications.record(
            session,
            client_id=client.id,
            channel=channel,
            source=source,
            batch_key=key,
            subject=message.subject,
            text=message.text,
            created_by_user_id=actor.id if actor is not None else None,
        )
        job = channels.ChannelJob(
            runtime=runtime,
            client=client,
            actor=actor,
            communication_id=row.id,
            subject=message.subject,
            text=message.text,
            sms_text=message.sms_text,
            url=message.url,
            attachment_file_ids=message.attachment_file_ids,
            document_kind=message.document_kind,
        )
        result = _attempt(session, channel, job)
        row.status, row.detail = result.status, result.detail
        row.recipients = list(result.recipients)
        row.outbox_message_id = result.outbox_message_id
        outcomes.append(
            ChannelOutcome(channel, result.status, result.detail, row.id, list(result.recipients))
        )
    session.flush()
    return outcomes
