"""The notification feed as server-sent events (WHATWG HTML §9.2): polling the database, so
every server process streams what any process or worker wrote."""

# Each poll is a short transaction of its own (a fresh snapshot, no connection held between
# polls), run in the thread pool since the database calls block. The token is checked again
# on each poll: a revoked token or a deleted contact ends the stream.

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import anyio
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from postroom.api.deps import Caller
from postroom.api.schemas_crm import NotificationPublic
from postroom.db.base import utcnow
from postroom.errors import AuthenticationError, NotFoundError
from postroom.services import notification_stream, notifications
from postroom.services.notification_stream import StreamCursor

# No proxy buffering (nginx honours X-Accel-Buffering), no caching of a live stream.
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
RETRY_MS = 3000  # how long a browser's EventSource waits before it reconnects


def open_stream(caller: Caller, contact_id: int | None, last_event_id: str | None) -> StreamCursor:
    """Check the caller and the feed before the response starts (a 401 or 404 is still
    possible then), and find where the stream starts."""
    with caller.begin() as tx:
        feed = notifications.feed_condition(tx.session, actor=tx.actor, contact_id=contact_id)
        resumed = notification_stream.parse_cursor(last_event_id)
        if resumed is not None:
            return resumed
        return notification_stream.start_cursor(tx.session, feed, utcnow())


def event_text(event_id: str, row: NotificationPublic) -> str:
    """One `notification` event; JSON has no raw line breaks, so one data line suffices."""
    data = json.dumps(row.model_dump(mode="json"), ensure_ascii=False)
    return f"id: {event_id}\nevent: notification\ndata: {data}\n\n"


def poll_once(caller: Caller, contact_id: int | None, cursor: StreamCursor) -> list[str]:
    """The events not sent yet, each with the cursor that includes it; the cursor moves on."""
    with caller.begin() as tx:
        feed = notifications.feed_condition(tx.session, actor=tx.actor, contact_id=contact_id)
        now = utcnow()
        events = []
        for row in notification_stream.poll(tx.session, feed, cursor, now):
            cursor.sent.add(row.id)
            events.append(event_text(cursor.event_id(), NotificationPublic.model_validate(row)))
        notification_stream.advance(tx.session, feed, cursor, now)
        return events


async def event_stream(
    request: Request, caller: Caller, contact_id: int | None, cursor: StreamCursor
) -> AsyncIterator[str]:
    settings = caller.runtime.settings
    yield f"retry: {RETRY_MS}\n\n"
    quiet_since = time.monotonic()
    while not await request.is_disconnected():
        try:
            events = await run_in_threadpool(poll_once, caller, contact_id, cursor)
        except (AuthenticationError, NotFoundError):
            return  # the token was revoked or the contact deleted: this feed is gone
        for event in events:
            yield event
        if events:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= settings.notification_stream_heartbeat_seconds:
            yield ": heartbeat\n\n"  # a comment: EventSource ignores it, proxies see traffic
            quiet_since = time.monotonic()
        await anyio.sleep(settings.notification_stream_poll_seconds)
