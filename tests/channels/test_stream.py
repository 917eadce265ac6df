"""GET /notifications/stream over a real HTTP server (uvicorn): new notifications as
server-sent events, Last-Event-ID resumption without losses, heartbeats, disconnects, and
notifications written by another server process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from postroom.db.base import utcnow
from postroom.db.models_crm import Notification
from postroom.services import notification_stream
from postroom.services.notification_stream import StreamCursor, parse_cursor
from postroom.services.runtime import Runtime, build_runtime
from tests.channels.support import (
    SseReader,
    live_server,
    make_client,
    make_contact,
    notify,
    ok,
)
from tests.support import Member, Tenant

STREAM = "/api/v1/notifications/stream"
TIMEOUT = httpx.Timeout(10.0)


@contextmanager
def open_stream(
    base: str, member: Member, last_event_id: str | None = None, **params: Any
) -> Iterator[SseReader]:
    headers = dict(member.headers)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    with (
        httpx.Client(base_url=base, timeout=TIMEOUT) as http,
        http.stream("GET", STREAM, headers=headers, params=params) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        yield SseReader(response)


def _contact(api: TestClient, tenant: Tenant) -> tuple[int, int]:
    created = make_client(api, tenant.admin)
    contact = make_contact(api, tenant.admin, created["id"], "anna@klient.example.test")
    return created["id"], contact["id"]


def _titles(events: list[Any]) -> list[str]:
    return [json.loads(e.data)["title"] for e in events]


def test_new_notifications_of_a_contact_arrive_as_events(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id, contact_id = _contact(api, tenant)
    ok(notify(api, tenant.admin, client_id, subject="Przed połączeniem"))
    with (
        live_server(runtime) as live,
        open_stream(live.url, tenant.admin, contact_id=contact_id) as reader,
    ):
        ok(notify(api, tenant.admin, client_id, subject="Po połączeniu"))
        event = reader.next_event()
        assert event.event == "notification"
        body = json.loads(event.data)
        assert (body["title"], body["contact_id"], body["kind"]) == (
            "Po połączeniu",
            contact_id,
            "client_message",
        )
        assert event.id is not None and parse_cursor(event.id) is not None
        assert str(body["id"]) in event.id  # the notification is in the cursor's sent list


def test_last_event_id_resumes_without_losses_or_repeats(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id, contact_id = _contact(api, tenant)
    with live_server(runtime) as live:
        with open_stream(live.url, tenant.admin, contact_id=contact_id) as reader:
            ok(notify(api, tenant.admin, client_id, subject="Jeden"))
            first = reader.next_event()
        # Disconnected: these are written while nobody listens.
        ok(notify(api, tenant.admin, client_id, subject="Dwa"))
        ok(notify(api, tenant.admin, client_id, subject="Trzy"))
        with open_stream(live.url, tenant.admin, first.id, contact_id=contact_id) as reader:
            resumed = [reader.next_event(), reader.next_event()]
            ok(notify(api, tenant.admin, client_id, subject="Cztery"))
            resumed.append(reader.next_event())
    assert _titles([first]) == ["Jeden"]
    assert _titles(resumed) == ["Dwa", "Trzy", "Cztery"]


def test_a_silent_stream_sends_heartbeats_and_ends_when_the_client_leaves(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    with live_server(runtime) as live:
        with open_stream(live.url, tenant.admin) as reader:
            reader.wait_comment("heartbeat")
            reader.wait_comment("heartbeat")
        # uvicorn shuts down only once every response has finished: the stream noticed the
        # disconnect and ended.
        assert live.stop()


def test_a_users_own_stream_gets_their_notifications_only(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id, _ = _contact(api, tenant)
    user = tenant.add_user()
    with live_server(runtime) as live, open_stream(live.url, user) as reader:
        ok(notify(api, tenant.admin, client_id, subject="Do klienta"))  # a contact's, not theirs
        with runtime.tenant(tenant.company_id) as session:
            session.add(Notification(user_id=tenant.admin.id, kind="new_mail", title="Admina"))
            session.add(Notification(user_id=user.id, kind="new_mail", title="Użytkownika"))
        assert _titles([reader.next_event()]) == ["Użytkownika"]


def test_a_notification_written_by_another_process_reaches_the_stream(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """Two servers with their own engines on one database: nothing travels in memory."""
    client_id, contact_id = _contact(api, tenant)
    other = build_runtime(runtime.settings)
    try:
        with (
            live_server(runtime) as streaming,
            live_server(other) as writing,
            open_stream(streaming.url, tenant.admin, contact_id=contact_id) as reader,
        ):
            body = {"subject": "Z drugiego serwera", "text": "Treść"}
            response = httpx.post(
                f"{writing.url}/api/v1/clients/{client_id}/notify",
                headers=tenant.admin.headers,
                json=body,
                timeout=TIMEOUT,
            )
            assert response.status_code == 200, response.text
            assert _titles([reader.next_event()]) == ["Z drugiego serwera"]
    finally:
        other.close()


def _add(runtime: Runtime, tenant: Tenant, user_id: int, title: str, row_id: int) -> None:
    with runtime.tenant(tenant.company_id) as session:
        session.add(Notification(id=row_id, user_id=user_id, kind="t", title=title))


def _poll(runtime: Runtime, tenant: Tenant, user_id: int, cursor: StreamCursor) -> list[str]:
    """One poll as the stream does it: the rows it would send, marked sent."""
    with runtime.tenant(tenant.company_id) as session:
        feed = Notification.user_id == user_id
        now = utcnow()
        rows = notification_stream.poll(session, feed, cursor, now)
        cursor.sent.update(r.id for r in rows)
        notification_stream.advance(session, feed, cursor, now)
        return [r.title for r in rows]


def test_a_row_committed_after_a_newer_one_is_still_sent(runtime: Runtime, tenant: Tenant) -> None:
    """Ids are handed out in insert order but become visible in commit order: id 11 can be
    streamed before id 10 commits. The cursor must not skip 10, nor lose it on resume."""
    user = tenant.admin.id
    with runtime.tenant(tenant.company_id) as session:
        start = notification_stream.start_cursor(session, Notification.user_id == user, utcnow())
    _add(runtime, tenant, user, "later id, committed first", 1011)
    assert _poll(runtime, tenant, user, start) == ["later id, committed first"]
    resumed = parse_cursor(start.event_id())  # the client reconnects with the last id
    assert resumed is not None
    _add(runtime, tenant, user, "earlier id, committed late", 1010)
    assert _poll(runtime, tenant, user, resumed) == ["earlier id, committed late"]
    assert _poll(runtime, tenant, user, resumed) == []


def test_settled_rows_move_the_watermark_and_leave_the_event_id(
    runtime: Runtime, tenant: Tenant
) -> None:
    user = tenant.admin.id
    cursor = StreamCursor(0)
    _add(runtime, tenant, user, "a", 2001)
    _add(runtime, tenant, user, "b", 2002)
    assert _poll(runtime, tenant, user, cursor) == ["a", "b"]
    assert cursor.event_id() == "0:2001,2002"
    with runtime.tenant(tenant.company_id) as session:
        feed = Notification.user_id == user
        later = utcnow() + notification_stream.SETTLE + timedelta(seconds=1)
        notification_stream.advance(session, feed, cursor, later)
        assert session.scalar(select(Notification.id).where(feed, Notification.id > 2002)) is None
    assert cursor.event_id() == "2002"
    assert parse_cursor("2002:1999,2005") == StreamCursor(2002, {2005})
    assert parse_cursor("not-ours") is None and parse_cursor(None) is None
