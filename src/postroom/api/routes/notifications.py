"""In-app notification feeds: the caller's own (A7: new mail in the accounts they may see) and,
for a host application, each client contact person's (F1); listed, marked read, streamed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.notification_sse import SSE_HEADERS, event_stream, open_stream
from postroom.api.schemas_crm import NotificationPage, NotificationPublic, ReadAllResult
from postroom.services import notifications

router = APIRouter(tags=["notifications"])

ContactFeed = Annotated[
    int | None,
    Query(
        description="The feed of this contact person of a client (F1), read by the host "
        "application on their behalf; omitted: the caller's own feed."
    ),
]


@router.get("/notifications", response_model=NotificationPage)
def list_notifications(
    caller: CallerDep,
    unread: Annotated[
        bool | None, Query(description="true: only unread; false: only read; omitted: all.")
    ] = None,
    contact_id: ContactFeed = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> NotificationPage:
    with caller.begin() as tx:
        rows, total, unread_count = notifications.list_notifications(
            tx.session,
            actor=tx.actor,
            unread=unread,
            limit=limit,
            offset=offset,
            contact_id=contact_id,
        )
        return NotificationPage(
            items=[NotificationPublic.model_validate(row) for row in rows],
            total=total,
            limit=limit,
            offset=offset,
            unread=unread_count,
        )


@router.get(
    "/notifications/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def stream(
    request: Request,
    caller: CallerDep,
    contact_id: ContactFeed = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="The id of the last event received: the stream resumes after it.",
        ),
    ] = None,
) -> StreamingResponse:
    """Server-sent events: one `notification` event (the notification as JSON) for each new
    notification of the feed, with an `id:` that Last-Event-ID resumes from without losses;
    a comment line as heartbeat during silence. Works with any number of server processes:
    each stream polls the database."""
    cursor = open_stream(caller, contact_id, last_event_id)
    return StreamingResponse(
        event_stream(request, caller, contact_id, cursor),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


@router.post("/notifications/read-all", response_model=ReadAllResult)
def read_all(caller: CallerDep, contact_id: ContactFeed = None) -> ReadAllResult:
    with caller.begin() as tx:
        marked = notifications.mark_all_read(tx.session, actor=tx.actor, contact_id=contact_id)
        return ReadAllResult(marked=marked)


@router.post("/notifications/{notification_id}/read", response_model=NotificationPublic)
def read_one(
    notification_id: int, caller: CallerDep, contact_id: ContactFeed = None
) -> NotificationPublic:
    with caller.begin() as tx:
        row = notifications.mark_read(
            tx.session, actor=tx.actor, notification_id=notification_id, contact_id=contact_id
        )
        return NotificationPublic.model_validate(row)
