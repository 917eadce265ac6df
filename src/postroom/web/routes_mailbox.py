"""The mail pages: folders with unread counts, message lists, search, and one message shown in
a sandboxed frame that can neither run scripts nor load anything remote until asked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.db.models_mailbox import MailMessage
from postroom.enums import FolderRole, Language
from postroom.errors import PermissionDeniedError, ValidationError
from postroom.services import accounts, mail_purge, mail_reading, mail_view, search
from postroom.services.mail_parts import content_disposition
from postroom.services.mail_reading import MailListing, MailSort
from postroom.services.runtime import Runtime
from postroom.services.sync_progress import read_status
from postroom.web.auth import RuntimeDep, Visitor, VisitorDep, tenant_work, transactions
from postroom.web.i18n import N_, Translator
from postroom.web.mailbox_actions_view import (
    PURGE_REFUSED_PL,
    REFRESH_SECONDS,
    Notice,
    done_notice,
    sync_view,
)
from postroom.web.mailbox_view import (
    OUTGOING_ROLES,
    PAGE_SIZE,
    SORTS,
    AccountFolders,
    FolderItem,
    MailQuery,
    account_emails,
    folder_tree,
    human_size,
    mail_rows,
    with_accounts,
)
from postroom.web.rendering import render, render_text

router = APIRouter()

LIST_TARGET = "mail-list"
BODY_TARGET = "mail-body"
MAX_ACCOUNTS = 500  # accounts in the sidebar; a company has a few dozen at most
NO_WORDS = N_("Type at least one word or number to search for.")
_CHUNK = 64 * 1024
_DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


def frame_headers(images_loaded: bool) -> dict[str, str]:
    """The message's own document: nothing runs (no script-src, sandboxed even when opened on
    its own), nothing loads but data: images, plus http(s) images once the reader asked."""
    images = "data: http: https:" if images_loaded else "data:"
    policy = (
        f"default-src 'none'; img-src {images}; style-src 'unsafe-inline'; font-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; "
        "sandbox allow-popups allow-popups-to-escape-sandbox"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "SAMEORIGIN",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, no-store",
    }


def _partial(request: Request, target: str) -> bool:
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Target") == target
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _found(
    session: Session, actor: User, query: MailQuery
) -> tuple[list[MailMessage], int, str | None]:
    """The page's messages, their total, and what is wrong with the search if anything."""
    if query.q:
        try:
            rows, total = search.search_mail(
                session, actor=actor, query=query.q, limit=PAGE_SIZE, offset=query.offset
            )
        except ValidationError:
            return [], 0, NO_WORDS
        return rows, total, None
    listing = MailListing(
        folder_id=query.folder, unread_only=query.unread, sort=MailSort(query.sort)
    )
    rows, total = mail_reading.list_mail(
        session, actor=actor, listing=listing, limit=PAGE_SIZE, offset=query.offset
    )
    return rows, total, None


def _current(tree: list[AccountFolders], folder_id: int | None) -> FolderItem | None:
    for account in tree:
        for folder in account.folders:
            if folder.id == folder_id:
                return folder
    return None


def sidebar(session: Session, actor: User) -> dict[str, Any]:
    """The folder tree with every account that receives mail, and each one's fetch state."""
    tree = folder_tree(mail_reading.list_folders(session, actor=actor))
    found, _ = accounts.list_accounts(session, actor=actor, limit=MAX_ACCOUNTS)
    tree = with_accounts(tree, found)
    by_id = {account.id: account for account in found}
    syncs = {
        item.account_id: sync_view(read_status(session, by_id[item.account_id]))
        for item in tree
        if item.account_id in by_id
    }
    return {"tree": tree, "syncs": syncs, "sync_refresh": REFRESH_SECONDS}


def _trash_context(session: Session, actor: User, current: FolderItem | None) -> dict[str, Any]:
    """In Deleted Items: whether the visitor may purge, else the service's words on who may."""
    if current is None or current.role != FolderRole.TRASH.value:
        return {"can_purge": False, "purge_refusal": None}
    try:
        mail_purge.require_purge_right(session, actor)
    except PermissionDeniedError as exc:
        words = exc.message  # the API's sentence; in Polish the same, translated whole
        if actor.language is Language.PL:
            words = Translator(actor.language)(PURGE_REFUSED_PL, names=purger_names(session))
        return {"can_purge": False, "purge_refusal": words}
    return {"can_purge": True, "purge_refusal": None}


def purger_names(session: Session) -> str:
    people = mail_purge.purgers(session)
    shown = people[: mail_purge.NAMES_SHOWN]
    names = ", ".join(f"{u.name} <{u.email}>" if u.name else u.email for u in shown)
    if len(people) > mail_purge.NAMES_SHOWN:
        names += f" (+{len(people) - mail_purge.NAMES_SHOWN})"
    return names


def list_page(
    request: Request,
    visitor: Visitor,
    runtime: Runtime,
    query: MailQuery,
    *,
    notice: Notice | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    language = visitor.language.value
    translate = Translator(visitor.language)
    with tenant_work(runtime, visitor) as (session, actor):
        frame = sidebar(session, actor)
        tree = frame["tree"]
        found, total, problem = _found(session, actor, query)
        rows = mail_rows(found, account_emails(tree), language)
        current = _current(tree, query.folder)
        frame |= _trash_context(session, actor, current)
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        **frame,
        "query": query,
        "sorts": SORTS,
        "outgoing_roles": OUTGOING_ROLES,
        "current": current,
        "rows": rows,
        "total": total,
        "problem": problem,
        "first": query.offset + 1 if rows else 0,
        "last": query.offset + len(rows),
        "prev_url": query.at_page(query.page - 1).url() if query.page > 1 else None,
        "next_url": query.at_page(query.page + 1).url() if query.page < pages else None,
        "notice": notice or done_notice(dict(request.query_params), translate),
        "back_url": query.url(),
    }
    template = "mailbox_list.html" if _partial(request, LIST_TARGET) else "mailbox.html"
    response = render(request, template, context, status_code=status_code)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


@router.get("/mail", response_model=None)
def mailbox_page(request: Request, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    query = MailQuery.parse(dict(request.query_params))
    return list_page(request, visitor, runtime, query)


@dataclass(frozen=True)
class Address:
    name: str
    address: str


def _addresses(entries: list[dict[str, str]]) -> list[Address]:
    return [Address(e.get("name", ""), e.get("address", "")) for e in entries]


def _message_context(view: mail_view.MessageView, language: str) -> dict[str, object]:
    message = view.message
    return {
        "mail_id": message.id,
        "subject": message.subject,
        "sender": Address(message.from_name, message.from_address),
        "to": _addresses(message.to_addresses),
        "cc": _addresses(message.cc_addresses),
        "date": message.sort_date,
        "folder_id": message.folder_id,
        "seen": message.seen,
        "flagged": message.flagged,
        "account_email": view.account_email,
        "folder_name": view.folder_name,
        "has_html": view.html is not None,
        "text": view.text,
        "remote_images": view.remote_images,
        "images_loaded": view.images_loaded,
        "attachments": [a for a in view.attachments if not a.inline],
        "sizes": {a.part: human_size(a.size, language) for a in view.attachments},
        "missing": view.missing,
    }


def message_response(
    request: Request,
    visitor: Visitor,
    runtime: Runtime,
    mail_id: int,
    *,
    notice: Notice | None = None,
    status_code: int = 200,
) -> tuple[HTMLResponse, bool]:
    """One message's page (or its body, for htmx), and whether it is still to be marked read."""
    images = request.query_params.get("images") == "1"
    language = visitor.language.value
    store = mail_view.mail_store(runtime)
    partial = _partial(request, BODY_TARGET)
    with tenant_work(runtime, visitor) as (session, actor):
        view = mail_view.view_message(
            session, store, actor=actor, mail_id=mail_id, load_images=images
        )
        context = _message_context(view, language)
        to_mark_read = view.to_mark_read
        if not partial:
            frame = sidebar(session, actor)
            thread = mail_reading.thread_of(session, actor=actor, mail_id=mail_id)
            current = _current(frame["tree"], view.message.folder_id)
            context |= frame | _trash_context(session, actor, current)
            context |= {
                "thread": mail_rows(thread, account_emails(frame["tree"]), language),
                "query": MailQuery(folder=view.message.folder_id),
                "current": current,
                "notice": notice
                or done_notice(dict(request.query_params), Translator(visitor.language)),
            }
    if partial:
        return render(request, "mailbox_body.html", context), False
    page = render(request, "mailbox_message.html", context, status_code=status_code)
    return page, to_mark_read


@router.get("/mail/{mail_id}", response_model=None)
def message_page(
    request: Request,
    mail_id: int,
    visitor: VisitorDep,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> Response:
    """One message. Opening it marks it read, after the page is sent (mail_view.mark_read)."""
    page, to_mark_read = message_response(request, visitor, runtime, mail_id)
    if to_mark_read:
        background.add_task(mail_view.mark_read, transactions(runtime, visitor), runtime, mail_id)
    return page


@router.get("/mail/{mail_id}/body", response_model=None)
def message_body(
    request: Request, mail_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """The message's HTML as a document of its own, for the sandboxed frame."""
    images = request.query_params.get("images") == "1"
    store = mail_view.mail_store(runtime)
    with tenant_work(runtime, visitor) as (session, actor):
        view = mail_view.view_message(
            session, store, actor=actor, mail_id=mail_id, load_images=images
        )
        # Cleaned by services/mail_html.py (nh3), and the frame runs no script in any case.
        html = Markup(view.html) if view.html else None  # noqa: S704
        context = {"html": html, "text": view.text}
    page = render_text(request, "mailbox_frame.html", context)
    return HTMLResponse(page, headers=frame_headers(images))


@router.get("/mail/{mail_id}/attachments/{part}", response_model=None)
def attachment(mail_id: int, part: int, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    store = mail_view.mail_store(runtime)
    with tenant_work(runtime, visitor) as (session, actor):
        found = mail_view.attachment(session, store, actor=actor, mail_id=mail_id, part=part)
    headers = {**_DOWNLOAD_HEADERS, "Content-Disposition": content_disposition(found.filename)}
    return Response(found.data, media_type=found.content_type, headers=headers)


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


@router.get("/mail/{mail_id}/raw", response_model=None)
def raw_message(mail_id: int, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    """The message exactly as received, to open in a mail program."""
    store = mail_view.mail_store(runtime)
    with tenant_work(runtime, visitor) as (session, actor):
        handle, filename = mail_view.open_raw(session, store, actor=actor, mail_id=mail_id)
    headers = {**_DOWNLOAD_HEADERS, "Content-Disposition": content_disposition(filename)}
    return StreamingResponse(_chunks(handle), media_type="message/rfc822", headers=headers)
