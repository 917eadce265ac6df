"""The outbox queue: claiming due messages under a lease, releasing them, the retry policy."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, case, or_, select, update
from sqlalchemy.orm import Session

from postroom.autoconfig.presets import Preset
from postroom.enums import MessageStatus, RecipientStatus
from postroom.services.outbox_tables import BODIES, MESSAGES, RECIPIENTS
from postroom.services.send_limits import hold_back_over_limit

B = BODIES.c
M = MESSAGES.c
R = RECIPIENTS.c
# Recipients still to be sent to: never tried, or a 4xx last time.
OPEN_RECIPIENTS = (RecipientStatus.PENDING, RecipientStatus.DEFERRED)
WAITING = (MessageStatus.QUEUED, MessageStatus.RETRYING)
_PG_BODIES = "SELECT message_id, mime FROM outbox_bodies WHERE message_id = ANY(%s)"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter (Mailman, procrastinate): base · 2^(n-1), capped, ±20 %."""

    base_seconds: float = 60.0
    max_seconds: float = 3600.0
    jitter: float = 0.2

    def next_attempt(self, attempt_count: int, now: datetime, deadline: datetime) -> datetime:
        """When to try again after `attempt_count` tries; never later than the deadline, so the
        last try happens at it and a failure then is final."""
        delay = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempt_count - 1))
        delay *= 1 + random.uniform(-self.jitter, self.jitter)  # noqa: S311  (not security)
        return min(now + timedelta(seconds=delay), deadline)


@dataclass(frozen=True)
class ClaimedRecipient:
    id: int
    address: str
    status: RecipientStatus

    @property
    def open(self) -> bool:
        return self.status in OPEN_RECIPIENTS


@dataclass(frozen=True)
class ClaimedMessage:
    """A message leased to this worker: everything needed to send it and record the result."""

    id: int
    company_id: int
    account_id: int | None
    via_relay: bool
    message_id: str
    envelope_from: str
    mime: bytes
    deadline_at: datetime
    attempt_count: int
    claimed_at: datetime
    recipients: tuple[ClaimedRecipient, ...]
    # Worked out once: the sender and the outcome both ask for it.
    open_recipients: tuple[ClaimedRecipient, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        open_ones = tuple(r for r in self.recipients if r.open)
        object.__setattr__(self, "open_recipients", open_ones)


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(M.status.in_(WAITING), M.next_attempt_at <= now),
        # A worker that died (or hung) past its lease: the message is taken over (C3).
        and_(M.status == MessageStatus.SENDING, M.lease_expires_at < now),
    )


def claim_due(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    limit: int,
    lease_seconds: float,
    presets: tuple[Preset, ...] | None = None,
) -> list[ClaimedMessage]:
    """Lease up to `limit` due messages of every company to `worker_id` (platform session),
    with their recipients and MIME: claim_rows, then load_claimed in the same transaction."""
    rows = claim_rows(
        session,
        worker_id=worker_id,
        now=now,
        limit=limit,
        lease_seconds=lease_seconds,
        presets=presets,
    )
    return load_claimed(session, rows, now)


def claim_rows(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    limit: int,
    lease_seconds: float,
    presets: tuple[Preset, ...] | None = None,
) -> list[Row[Any]]:
    """Lease up to `limit` due messages; their rows, in due order, without the blobs.

    One UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) … RETURNING: on PostgreSQL
    concurrent workers skip each other's rows, so no message is claimed twice. SQLite has no
    row locks and ignores FOR UPDATE; the single UPDATE statement takes its write lock before
    reading, so it is atomic there too (and as the first statement of its transaction it never
    meets a stale snapshot). The caller commits at once; sending happens outside this
    transaction, and the recipients and MIME are read afterwards (load_claimed), outside the
    write lock.
    """
    due = (
        select(M.id)
        .where(_due(now))
        .order_by(M.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(MESSAGES)
        .where(M.id.in_(due.scalar_subquery()))
        .values(
            status=MessageStatus.SENDING,
            lease_owner=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
        )
        .returning(
            M.id,
            M.company_id,
            M.account_id,
            M.via_relay,
            M.message_id,
            M.envelope_from,
            M.deadline_at,
            M.attempt_count,
            M.next_attempt_at,
        )
    )
    rows = sorted(session.connection().execute(claim).all(), key=lambda row: row.next_attempt_at)
    return hold_back_over_limit(session, rows, now=now, presets=presets)


def load_claimed(session: Session, rows: Sequence[Row[Any]], now: datetime) -> list[ClaimedMessage]:
    """The claimed rows with their recipients and MIME: one query for each, for the batch."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    found: dict[int, list[ClaimedRecipient]] = {message_id: [] for message_id in ids}
    query = select(R.id, R.message_id, R.address, R.status).where(R.message_id.in_(ids))
    for rid, message_id, address, status in session.connection().execute(query.order_by(R.id)):
        found[message_id].append(ClaimedRecipient(rid, address, RecipientStatus(status)))
    mimes = read_bodies(session.connection(), ids)
    return [
        ClaimedMessage(
            id=row.id,
            company_id=row.company_id,
            account_id=row.account_id,
            via_relay=bool(row.via_relay),
            message_id=row.message_id,
            envelope_from=row.envelope_from,
            mime=mimes[row.id],
            deadline_at=row.deadline_at,
            attempt_count=row.attempt_count,
            claimed_at=now,
            recipients=tuple(found[row.id]),
        )
        for row in rows
    ]


def read_bodies(connection: Connection, ids: Sequence[int]) -> dict[int, bytes]:
    """The MIME of a batch, in one query (the claim itself never reads the blob).

    On PostgreSQL in binary format: psycopg reads bytea as hex text by default, and decoding
    the hex of a batch of 20 KB messages cost more than the rest of the claim together.
    """
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        with driver.cursor(binary=True) as cursor:  # type: ignore[union-attr]
            cursor.execute(_PG_BODIES, (list(ids),))
            return {message_id: bytes(mime) for message_id, mime in cursor}
    query = select(B.message_id, B.mime).where(B.message_id.in_(ids))
    return {message_id: bytes(mime) for message_id, mime in connection.execute(query)}


def release(session: Session, *, worker_id: str, message_ids: Sequence[int], now: datetime) -> int:
    """Give leased messages back unsent (a worker stopping): due again at once. Only rows this
    worker still holds are touched (platform session)."""
    if not message_ids:
        return 0
    statement = (
        update(MESSAGES)
        .where(
            M.id.in_(list(message_ids)),
            M.lease_owner == worker_id,
            M.status == MessageStatus.SENDING,
        )
        .values(
            status=case(
                (M.attempt_count > 0, MessageStatus.RETRYING.value),
                else_=MessageStatus.QUEUED.value,
            ),
            lease_owner=None,
            lease_expires_at=None,
            next_attempt_at=now,
        )
    )
    return session.connection().execute(statement).rowcount or 0


def renew_leases(
    session: Session, *, worker_id: str, message_ids: Sequence[int], until: datetime
) -> int:
    """Extend this worker's leases on messages it still holds (a slow server, a long queue)."""
    if not message_ids:
        return 0
    statement = (
        update(MESSAGES)
        .where(
            M.id.in_(list(message_ids)),
            M.lease_owner == worker_id,
            M.status == MessageStatus.SENDING,
        )
        .values(lease_expires_at=until)
    )
    return session.connection().execute(statement).rowcount or 0
