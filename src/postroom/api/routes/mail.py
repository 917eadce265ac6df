"""Received mail (issue 6, "Reading and search"): folders, lists, threads, one message, its
raw bytes and attachments, and full-text search, over the accounts the caller may see."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, BinaryIO

from fastapi import APIRouter, BackgroundTasks, Query, Response
from fastapi.responses import StreamingResponse

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import Page
from postroom.api.schemas_mail import MailFolderPublic, MailMessagePublic, MailSummary, MailThread
from postroom.services import mail_reading, mail_view, search
from postroom.services.mail_parts import content_disposition
from postroom.services.mail_reading import MailListing, MailSort

router = APIRouter(tags=["mail"])

_CHUNK = 64 * 1024
# A downloaded part is the sender's bytes: never let a browser run or sniff it.
_DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


@router.get("/mail/folders", response_model=list[MailFolderPublic])
def list_folders(caller: CallerDep, account_id: int | None = None) -> list[MailFolderPublic]:
    """Folders of every account the caller may see (or of one), with total and unread counts,
    each account's Inbox, Drafts, Sent, … first and subfolders after their parent."""
    with caller.begin() as tx:
        rows = mail_reading.list_folders(tx.session, actor=tx.actor, account_id=account_id)
        return [MailFolderPublic.of(row) for row in rows]


@router.get(
    "/mail/search",
    response_model=Page[MailSummary],
    responses={422: {"description": "`q` has no words, or a filter is invalid."}},
)
def search_mail(
    caller: CallerDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="Words to find.")],
    account_id: int | None = None,
    folder_id: int | None = None,
    from_address: Annotated[
        str | None, Query(alias="from", max_length=320, description="Part of the sender's address.")
    ] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    has_attachments: bool | None = None,
    order: search.SearchOrder = search.SearchOrder.DATE,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[MailSummary]:
    """Messages whose subject, addresses or text hold every word of `q` (the last word may be
    the start of a word; "quoted words" must stand in a row), in every account the caller may
    see. Newest first, or by relevance. The same results on SQLite and PostgreSQL."""
    filters = search.SearchFilter(
        account_id=account_id,
        folder_id=folder_id,
        from_address=from_address,
        date_from=date_from,
        date_to=date_to,
        has_attachments=has_attachments,
    )
    with caller.begin() as tx:
        rows, total = search.search_mail(
            tx.session,
            actor=tx.actor,
            query=q,
            filters=filters,
            order=order,
            limit=limit,
            offset=offset,
        )
        items = [MailSummary.of(row) for row in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/mail/threads/{mail_id}", response_model=MailThread)
def get_thread(mail_id: int, caller: CallerDep) -> MailThread:
    """The thread a message belongs to: every message of it the caller may see, oldest first."""
    with caller.begin() as tx:
        rows = mail_reading.thread_of(tx.session, actor=tx.actor, mail_id=mail_id)
        return MailThread(items=[MailSummary.of(row) for row in rows])


@router.get("/mail", response_model=Page[MailSummary])
def list_mail(
    caller: CallerDep,
    folder_id: Annotated[
        int | None, Query(description="Omit for the inboxes of every visible account.")
    ] = None,
    account_id: int | None = None,
    sort: MailSort = MailSort.DATE_DESC,
    unread: Annotated[bool, Query(description="Only messages not read yet.")] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[MailSummary]:
    """One page of a folder's messages. `sort`: date, from, subject or size; "-" first for
    descending (default -date). Ties are broken by id, so pages never overlap or skip."""
    listing = MailListing(folder_id=folder_id, account_id=account_id, unread_only=unread, sort=sort)
    with caller.begin() as tx:
        rows, total = mail_reading.list_mail(
            tx.session, actor=tx.actor, listing=listing, limit=limit, offset=offset
        )
        items = [MailSummary.of(row) for row in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/mail/{mail_id}", response_model=MailMessagePublic)
def get_mail(
    mail_id: int,
    caller: CallerDep,
    background: BackgroundTasks,
    load_images: Annotated[
        bool, Query(description="Keep remote images in the HTML (they tell the sender).")
    ] = False,
) -> MailMessagePublic:
    """One message: headers, text, cleaned HTML and attachments. Reading it marks it read
    (on the IMAP server too, just after the answer), if the caller uses the account."""
    store = mail_view.mail_store(caller.runtime)
    with caller.begin() as tx:
        view = mail_view.view_message(
            tx.session, store, actor=tx.actor, mail_id=mail_id, load_images=load_images
        )
        body = MailMessagePublic.of_view(view)
    if view.to_mark_read:
        background.add_task(mail_view.mark_read, caller.begin, caller.runtime, mail_id)
        body.seen = True
    return body


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


@router.get(
    "/mail/{mail_id}/raw",
    response_class=Response,
    responses={200: {"content": {"message/rfc822": {}}, "description": "The bytes received."}},
)
def get_raw(mail_id: int, caller: CallerDep) -> StreamingResponse:
    """The message exactly as the server sent it (.eml)."""
    store = mail_view.mail_store(caller.runtime)
    with caller.begin() as tx:
        handle, filename = mail_view.open_raw(tx.session, store, actor=tx.actor, mail_id=mail_id)
    headers = {**_DOWNLOAD_HEADERS, "Content-Disposition": content_disposition(filename)}
    return StreamingResponse(_chunks(handle), media_type="message/rfc822", headers=headers)


@router.get(
    "/mail/{mail_id}/attachments/{part}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file."}},
)
def get_attachment(mail_id: int, part: int, caller: CallerDep) -> Response:
    """One attachment (or any part, by the `part` number in the message's list), decoded,
    with its own Content-Type and file name."""
    store = mail_view.mail_store(caller.runtime)
    with caller.begin() as tx:
        found = mail_view.attachment(tx.session, store, actor=tx.actor, mail_id=mail_id, part=part)
    headers = {**_DOWNLOAD_HEADERS, "Content-Disposition": content_disposition(found.filename)}
    return Response(found.data, media_type=found.content_type, headers=headers)
