"""Where a notification stream stands (the SSE `id:`), and what it has not sent yet (F1)."""

# Ids come from one sequence, but transactions commit in any order: a row with id 10 can
# become visible after id 11 was already streamed. A bare "last id" would then skip 10 for
# good. So the cursor is a watermark W (every row of the feed up to W was sent, or was
# assigned its id more than SETTLE ago and never became visible: it was rolled back) plus
# the ids above W already sent. Each poll sends every visible row above W that is not among
# them. Both travel in the event id, so Last-Event-ID resumes without losing or repeating a
# row. A transaction held open longer than SETTLE could still be missed; notification
# writers hold theirs for well under a second. docs/decisions.md.

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from postroom.db.models_crm import Notification

SETTLE = timedelta(seconds=60)
# The event id carries at most this many of the ids above W; beyond it (a burst), the lowest
# are left out of the id (not of the stream's memory), so a resume may repeat some of them
# but never loses one.
MAX_LISTED = 200
_CURSOR = re.compile(r"^(\d{1,19})(?::(\d{1,19}(?:,\d{1,19})*))?$")
MAX_BATCH = 500  # rows one poll sends at most; the next poll sends the rest


@dataclass
class StreamCursor:
    watermark: int
    sent: set[int] = field(default_factory=set)

    def event_id(self) -> str:
        """`W` or `W:a,b,c` (ascending): what Last-Event-ID gives back on reconnect."""
        listed = sorted(self.sent)[-MAX_LISTED:]
        if not listed:
            return str(self.watermark)
        return f"{self.watermark}:{','.join(str(i) for i in listed)}"


def parse_cursor(value: str | None) -> StreamCursor | None:
    """A Last-Event-ID this service made; None when absent or not one of ours (a client
    that sends something else starts afresh rather than getting an error mid-reconnect)."""
    match = _CURSOR.match((value or "").strip())
    if match is None:
        return None
    sent = {int(i) for i in match[2].split(",")} if match[2] else set()
    watermark = int(match[1])
    return StreamCursor(watermark, {i for i in sent if i > watermark})


def _settled_watermark(
    session: Session, feed: ColumnElement[bool], floor: int, now: datetime
) -> int:
    """The highest id of the feed assigned more than SETTLE ago (never below `floor`)."""
    highest = session.scalar(
        select(func.max(Notification.id)).where(
            feed, Notification.id > floor, Notification.created_at < now - SETTLE
        )
    )
    return max(floor, int(highest or 0))


def start_cursor(session: Session, feed: ColumnElement[bool], now: datetime) -> StreamCursor:
    """A new stream without Last-Event-ID starts at "now": what is already visible counts as
    known (the host application lists the feed first), anything committed later is sent."""
    watermark = _settled_watermark(session, feed, 0, now)
    recent = session.scalars(select(Notification.id).where(feed, Notification.id > watermark))
    return StreamCursor(watermark, set(recent))


def poll(
    session: Session, feed: ColumnElement[bool], cursor: StreamCursor, now: datetime
) -> list[Notification]:
    """The feed's rows the stream has not sent yet, oldest first; the caller sends them and
    then calls `advance`."""
    rows = session.scalars(
        select(Notification)
        .where(feed, Notification.id > cursor.watermark)
        .order_by(Notification.id)
        .limit(MAX_BATCH + len(cursor.sent))
    )
    return [row for row in rows if row.id not in cursor.sent][:MAX_BATCH]


def advance(
    session: Session, feed: ColumnElement[bool], cursor: StreamCursor, now: datetime
) -> None:
    """Raise the watermark over settled rows and forget the sent ids below it."""
    unsent_below = session.scalar(
        select(func.min(Notification.id)).where(
            feed,
            Notification.id > cursor.watermark,
            Notification.id.not_in(cursor.sent) if cursor.sent else Notification.id.is_not(None),
        )
    )
    watermark = _settled_watermark(session, feed, cursor.watermark, now)
    if unsent_below is not None:  # a visible row not yet sent (a poll's batch limit)
        watermark = min(watermark, int(unsent_below) - 1)
    cursor.watermark = max(cursor.watermark, watermark)
    cursor.sent = {i for i in cursor.sent if i > cursor.watermark}
