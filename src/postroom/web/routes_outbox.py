"""The outbox: messages with their status and the server's last reply, each one's delivery
timeline and its MIME as sent (C3). Pages refresh themselves while something is on its way."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.enums import MessageStatus
from postroom.services import messages
from postroom.services.runtime import Runtime
from postroom.web.auth import RuntimeDep, Visitor, VisitorDep, tenant_work
from postroom.web.i18n import Translator
from postroom.web.outbox_view import (
    in_progress,
    outbox_row,
    recipient_lines,
    timeline,
)
from postroom.web.rendering import render
from postroom.web.sending_labels import (
    DOCUMENT_KINDS,
    DOCUMENT_KINDS_SHORT,
    IN_PROGRESS,
    MESSAGE_STATUSES,
    RECIPIENT_KINDS,
    RECIPIENT_STATUSES,
    STATUS_TONES,
)

router = APIRouter()

PAGE_SIZE = 25
REFRESH_SECONDS = 3  # how often a page with mail on its way asks for news (htmx polling)
RESULTS_TARGET = "outbox-results"
TIMELINE_TARGET = "message-timeline"
_LABELS = {
    "statuses": MESSAGE_STATUSES,
    "recipient_statuses": RECIPIENT_STATUSES,
    "recipient_kinds": RECIPIENT_KINDS,
    "tones": STATUS_TONES,
    "refresh_seconds": REFRESH_SECONDS,
}


@dataclass(frozen=True)
class OutboxQuery:
    status: str = ""  # "" or a MessageStatus value
    page: int = 1

    @classmethod
    def parse(cls, source: dict[str, str]) -> OutboxQuery:
        status = source.get("status", "")
        page = source.get("page", "1")
        return cls(
            status=status if status in MESSAGE_STATUSES else "",
            page=max(1, int(page)) if page.isdigit() else 1,
        )

    def url(self, page: int) -> str:
        params = {"status": self.status, "page": str(page) if page > 1 else ""}
        query = urlencode({k: v for k, v in params.items() if v})
        return "/outbox" + (f"?{query}" if query else "")

    def message_filter(self) -> messages.MessageFilter:
        return messages.MessageFilter(status=MessageStatus(self.status) if self.status else None)


def _partial(request: Request, target: str) -> bool:
    """An htmx refresh or filter swaps only the results; history restores need the page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Target") == target
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _anything_on_its_way(session: Session, actor: User) -> bool:
    """Whether any message the visitor sees is still queued, sending or retrying: then the
    list refreshes, whatever its filter (a queued message may be about to match it)."""
    for status in IN_PROGRESS:
        _, total = messages.list_messages(
            session, actor=actor, filters=messages.MessageFilter(status=status), limit=0
        )
        if total:
            return True
    return False


def _outbox_page(
    request: Request, runtime: Runtime, visitor: Visitor, query: OutboxQuery
) -> HTMLResponse:
    with tenant_work(runtime, visitor) as (session, actor):
        found, total = messages.list_messages(
            session,
            actor=actor,
            filters=query.message_filter(),
            limit=PAGE_SIZE,
            offset=(query.page - 1) * PAGE_SIZE,
        )
        rows = [outbox_row(message) for message in found]
        refresh = _anything_on_its_way(session, actor)
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        **_LABELS,
        "rows": rows,
        "total": total,
        "query": query,
        "first": (query.page - 1) * PAGE_SIZE + 1 if rows else 0,
        "last": (query.page - 1) * PAGE_SIZE + len(rows),
        "prev_url": query.url(query.page - 1) if query.page > 1 else None,
        "next_url": query.url(query.page + 1) if query.page < pages else None,
        "refresh": refresh,
        "kinds": DOCUMENT_KINDS_SHORT,
    }
    template = "outbox_results.html" if _partial(request, RESULTS_TARGET) else "outbox.html"
    return render(request, template, context)


@router.get("/outbox", response_model=None)
def outbox_page(request: Request, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    query = OutboxQuery.parse(dict(request.query_params))
    response = _outbox_page(request, runtime, visitor, query)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


@router.get("/outbox/{message_id}", response_model=None)
def message_page(
    request: Request, message_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """One message: its recipients with the server's answer to each, and its timeline."""
    translate = Translator(visitor.language)
    with tenant_work(runtime, visitor) as (session, actor):
        message = messages.get_message(session, actor=actor, message_id=message_id)  # else 404
        context = {
            **_LABELS,
            "message": outbox_row(message),
            "message_id_header": message.message_id,
            "via_relay": message.via_relay,
            "events": timeline(message, translate),
            "recipients": recipient_lines(message),
            "refresh": in_progress(message),
            "kinds": DOCUMENT_KINDS,
            "queued": request.query_params.get("queued") == "1",
        }
    partial = _partial(request, TIMELINE_TARGET)
    template = "message_timeline_body.html" if partial else "message_timeline.html"
    response = render(request, template, context)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


@router.get("/outbox/{message_id}/raw", response_model=None)
def raw_message(message_id: int, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    """The message exactly as it is (or was) handed to the server, to open in a mail program."""
    with tenant_work(runtime, visitor) as (session, actor):
        raw = messages.get_message(session, actor=actor, message_id=message_id).body.mime
    headers = {
        "Content-Disposition": f'attachment; filename="message-{message_id}.eml"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(raw, media_type="message/rfc822", headers=headers)
