"""A client's communication history (F1): one row per channel of each message, kept live."""

# A row's status is derived from the rows that carry it: the SMS and push queues' rows (one
# per number / subscription, linked by communication_id) and the outbox message (e-mail).
# The SMS and push workers call refresh_status after each change; the outbox knows nothing
# about clients, so e-mail rows are refreshed when the history is read (one query per page),
# which is when anyone looks at them. docs/decisions.md.

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postroom.db.models_channels import ClientCommunication, PushMessage, SmsMessage
from postroom.db.models_outbox import OutboxMessage
from postroom.enums import (
    Channel,
    CommunicationStatus,
    MessageStatus,
    PushStatus,
    SmsStatus,
)
from postroom.services.guards import get_or_404

_PREVIEW_CHARS = 500
_SUBJECT_CHARS = 500
# Statuses that can still change: what the queues or the outbox do next moves them on.
LIVE = (CommunicationStatus.QUEUED, CommunicationStatus.SENT)


class _Unit(StrEnum):
    """Where one SMS, push message or e-mail carrying a communication stands."""

    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class _State:
    unit: _Unit
    error: str | None = None


_SMS = {
    SmsStatus.QUEUED: _Unit.PENDING,
    SmsStatus.SENDING: _Unit.PENDING,
    SmsStatus.SENT: _Unit.SENT,
    SmsStatus.DELIVERED: _Unit.DELIVERED,
    SmsStatus.FAILED: _Unit.FAILED,
}
# A push service's 201 is as far as Web Push reports (RFC 8030 §5): sent, never "delivered".
_PUSH = {
    PushStatus.QUEUED: _Unit.PENDING,
    PushStatus.SENT: _Unit.SENT,
    PushStatus.FAILED: _Unit.FAILED,
    PushStatus.EXPIRED: _Unit.FAILED,
}
_MAIL = {
    MessageStatus.QUEUED: _Unit.PENDING,
    MessageStatus.SENDING: _Unit.PENDING,
    MessageStatus.RETRYING: _Unit.PENDING,
    MessageStatus.SENT: _Unit.SENT,
    MessageStatus.FAILED: _Unit.FAILED,
    MessageStatus.BOUNCED: _Unit.FAILED,
}
_EXPIRED_SUBSCRIPTION = "The browser's subscription has expired."


@dataclass(frozen=True)
class HistoryFilter:
    channel: Channel | None = None
    source: str | None = None
    status: CommunicationStatus | None = None


def record(
    session: Session,
    *,
    client_id: int,
    channel: Channel,
    source: str,
    batch_key: str,
    subject: str,
    text: str,
    created_by_user_id: int | None,
    status: CommunicationStatus = CommunicationStatus.QUEUED,
) -> ClientCommunication:
    """A new history row, flushed (its id goes on the SMS / push rows it will carry)."""
    row = ClientCommunication(
        client_id=client_id,
        channel=channel,
        status=status,
        source=source,
        batch_key=batch_key,
        subject=subject[:_SUBJECT_CHARS],
        body_preview=text[:_PREVIEW_CHARS],
        recipients=[],
        created_by_user_id=created_by_user_id,
    )
    session.add(row)
    session.flush()
    return row


def _derive(states: Sequence[_State]) -> tuple[CommunicationStatus, str | None]:
    """All delivered: DELIVERED; all failed: FAILED (first error); some still waiting and none
    out: QUEUED; otherwise SENT. Partial failures are named in the detail."""
    units = [s.unit for s in states]
    failed = [s for s in states if s.unit is _Unit.FAILED]
    first_error = next((s.error for s in failed if s.error), None)
    if len(failed) == len(states):
        return CommunicationStatus.FAILED, first_error
    detail = None
    if failed:
        detail = f"{len(failed)} of {len(states)} failed" + (
            f": {first_error}" if first_error else "."
        )
    if _Unit.PENDING in units and _Unit.SENT not in units and _Unit.DELIVERED not in units:
        return CommunicationStatus.QUEUED, detail
    if _Unit.PENDING not in units and _Unit.SENT not in units:
        return CommunicationStatus.DELIVERED, detail
    return CommunicationStatus.SENT, detail


def _sms_states(session: Session, ids: list[int]) -> dict[int, list[_State]]:
    found: dict[int, list[_State]] = defaultdict(list)
    rows = session.execute(
        select(SmsMessage.communication_id, SmsMessage.status, SmsMessage.error)
        .where(SmsMessage.communication_id.in_(ids))
        .order_by(SmsMessage.id)
    )
    for communication_id, status, error in rows:
        if communication_id is not None:  # the query's filter: never None
            found[communication_id].append(_State(_SMS[status], error))
    return found


def _push_states(session: Session, ids: list[int]) -> dict[int, list[_State]]:
    found: dict[int, list[_State]] = defaultdict(list)
    rows = session.execute(
        select(PushMessage.communication_id, PushMessage.status, PushMessage.error)
        .where(PushMessage.communication_id.in_(ids))
        .order_by(PushMessage.id)
    )
    for communication_id, status, error in rows:
        if status is PushStatus.EXPIRED and not error:
            error = _EXPIRED_SUBSCRIPTION
        if communication_id is not None:  # the query's filter: never None
            found[communication_id].append(_State(_PUSH[status], error))
    return found


def _mail_states(session: Session, rows: list[ClientCommunication]) -> dict[int, list[_State]]:
    by_message = {r.outbox_message_id: r.id for r in rows if r.outbox_message_id is not None}
    if not by_message:
        return {}
    found: dict[int, list[_State]] = {}
    messages = session.execute(
        select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.last_reply).where(
            OutboxMessage.id.in_(list(by_message))
        )
    )
    for message_id, status, reply in messages:
        unit = _MAIL[status]
        found[by_message[message_id]] = [_State(unit, reply if unit is _Unit.FAILED else None)]
    return found


def refresh_rows(session: Session, rows: Iterable[ClientCommunication]) -> None:
    """Re-derive the status of the live rows among `rows` from what carries them."""
    live = [r for r in rows if r.status in LIVE]
    if not live:
        return
    states: dict[int, list[_State]] = {}
    for channel, loader in ((Channel.SMS, _sms_states), (Channel.WEBPUSH, _push_states)):
        ids = [r.id for r in live if r.channel is channel]
        if ids:
            states.update(loader(session, ids))
    states.update(_mail_states(session, [r for r in live if r.channel is Channel.EMAIL]))
    for row in live:
        if row.id not in states:  # nothing carries it (yet, or any more): leave it as it is
            continue
        status, detail = _derive(states[row.id])
        row.status = status
        if detail is not None:  # else keep what enqueuing said (e.g. a number refused)
            row.detail = detail


def refresh_status(session: Session, communication_id: int) -> None:
    """Called by the SMS and push workers after they change a row's status; a row that is not
    there (deleted with its client) is nothing to refresh."""
    row = session.get(ClientCommunication, communication_id)
    if row is not None:
        refresh_rows(session, [row])


def get_communication(session: Session, communication_id: int) -> ClientCommunication:
    row = get_or_404(session, ClientCommunication, communication_id, "Communication")
    refresh_rows(session, [row])
    return row


def list_history(
    session: Session,
    *,
    client_id: int,
    filters: HistoryFilter = HistoryFilter(),
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ClientCommunication], int]:
    """The client's communications, newest first, their statuses brought up to date."""
    conditions = [ClientCommunication.client_id == client_id]
    if filters.channel is not None:
        conditions.append(ClientCommunication.channel == filters.channel)
    if filters.source is not None:
        conditions.append(ClientCommunication.source == filters.source)
    if filters.status is not None:
        # The filter compares stored statuses: bring the client's live rows up to date first.
        refresh_rows(
            session,
            session.scalars(
                select(ClientCommunication).where(*conditions, ClientCommunication.status.in_(LIVE))
            ),
        )
        conditions.append(ClientCommunication.status == filters.status)
    total = session.scalar(select(func.count()).select_from(ClientCommunication).where(*conditions))
    rows = list(
        session.scalars(
            select(ClientCommunication)
            .where(*conditions)
            .order_by(ClientCommunication.created_at.desc(), ClientCommunication.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    refresh_rows(session, rows)
    return rows, total or 0


def batch_rows(session: Session, batch_key: str) -> list[ClientCommunication]:
    """The channels of one notify call / reminder / notice, in the order they were written."""
    rows = list(
        session.scalars(
            select(ClientCommunication)
            .where(ClientCommunication.batch_key == batch_key)
            .order_by(ClientCommunication.id)
        )
    )
    refresh_rows(session, rows)
    return rows
