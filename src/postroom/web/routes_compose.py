"""Compose: the From picker, attachments, draft autosave, Send; and the list of drafts (C1, C4)."""

# Every send goes through a draft: the form is saved (its own transaction, so what was typed
# survives a refusal), then the draft is sent, which queues the message and deletes the draft
# in one transaction. The draft's id is the message's idempotency key, so a double click or a
# resent form queues one message.

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

import pydantic
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from postroom.db.base import utcnow
from postroom.db.models import User
from postroom.errors import NotFoundError, SendingRefusedError, ValidationError
from postroom.services import drafts, files, relay
from postroom.services.companies import get_company
from postroom.services.message_schemas import DraftWrite
from postroom.services.runtime import Runtime
from postroom.web.auth import (
    CSRF_FIELD,
    CheckedForm,
    RuntimeDep,
    Visitor,
    VisitorDep,
    checked_form,
    find_visitor,
    get_runtime,
    tenant_work,
    tokens_match,
    transactions,
)
from postroom.web.compose_form import (
    SENDER_FIELD,
    attachment_ids,
    blank_values,
    draft_id_of,
    draft_input,
    draft_values,
    indexed_pieces,
    submitted_values,
)
from postroom.web.compose_view import (
    SENDER_KINDS,
    Errors,
    Notice,
    attachment_items,
    problem_errors,
    project_choices,
    refusal_notice,
    selected_sender,
    sender_items,
)
from postroom.web.fields import schema_errors
from postroom.web.i18n import N_, Translator
from postroom.web.rendering import redirect, render
from postroom.web.sending_labels import DOCUMENT_KINDS

router = APIRouter()

DRAFTS_PAGE_SIZE = 50
TOO_LARGE = (
    N_("Too large"),
    N_("The files are larger than a message may be. Go back and attach fewer or smaller files."),
)
NOT_SAVED_LOGGED_OUT = N_("The draft was not saved: you have been logged out. Log in again.")


@dataclass
class ComposeState:
    """The form as the page shows it: the values, the draft it is saved as, what went wrong."""

    values: dict[str, str]
    draft_id: int | None = None
    attachments: list[int] = field(default_factory=list)
    errors: Errors = field(default_factory=dict)
    notice: Notice | None = None
    saved_at: datetime | None = None


def _project_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


def _senders_context(
    session: Session, actor: User, values: dict[str, str], runtime: Runtime, translate: Translator
) -> dict[str, object]:
    """The From picker for the chosen project; e-mail off shows why instead of options."""
    project_id = _project_id(values.get("project_id", ""))
    try:
        try:
            items = sender_items(session, actor, project_id, runtime.settings)
        except NotFoundError:  # a project deleted meanwhile: offer what serves outside projects
            items = sender_items(session, actor, None, runtime.settings)
        notice = None
    except SendingRefusedError as exc:
        items, notice = [], refusal_notice(exc, translate, None)
    return {
        "senders": items,
        "selected_sender": selected_sender(items, values.get(SENDER_FIELD, "")),
        "sender_notice": notice,
        "sender_kinds": SENDER_KINDS,
    }


def compose_page(
    request: Request,
    runtime: Runtime,
    visitor: Visitor,
    state: ComposeState,
    status_code: int = 200,
) -> HTMLResponse:
    translate = Translator(visitor.language)
    with tenant_work(runtime, visitor) as (session, actor):
        context = {
            **_senders_context(session, actor, state.values, runtime, translate),
            "values": state.values,
            "draft_id": state.draft_id,
            "attachments": attachment_items(
                session, actor, state.attachments, visitor.language.value
            ),
            "projects": project_choices(session),
            "errors": state.errors,
            "notice": state.notice,
            "saved_at": state.saved_at,
            "draft_error": None,
            "document_kinds": DOCUMENT_KINDS,
        }
    return render(request, "compose.html", context, status_code=status_code)


@router.get("/compose", response_model=None)
def new_message(
    request: Request, visitor: VisitorDep, runtime: RuntimeDep, project_id: str = ""
) -> Response:
    state = ComposeState(blank_values(_project_id(project_id)))
    return compose_page(request, runtime, visitor, state)


@router.get("/compose/senders", response_model=None)
def senders_fragment(
    request: Request,
    visitor: VisitorDep,
    runtime: RuntimeDep,
    project_id: str = "",
    sender: str = "",
    sender_picked: str = "",
) -> Response:
    """The From picker again when the project changes (htmx): what is offered depends on it.
    A sender the user picked stays if still offered; otherwise the rules' first choice."""
    translate = Translator(visitor.language)
    values = {"project_id": project_id, SENDER_FIELD: sender if sender_picked else ""}
    with tenant_work(runtime, visitor) as (session, actor):
        context = _senders_context(session, actor, values, runtime, translate)
    return render(request, "compose_senders.html", {**context, "errors": {}})


@router.get("/compose/{draft_id}", response_model=None)
def open_draft(
    request: Request, draft_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    with tenant_work(runtime, visitor) as (session, actor):
        draft = drafts.get_draft(session, actor=actor, draft_id=draft_id)  # else 404
        fields = drafts.fields_of(draft)
        saved_at = draft.updated_at
    state = ComposeState(
        draft_values(fields),
        draft_id=draft_id,
        attachments=[ref.file_id for ref in fields.attachments],
        saved_at=saved_at,
    )
    return compose_page(request, runtime, visitor, state)


def save_draft(runtime: Runtime, visitor: Visitor, draft_id: int | None, data: DraftWrite) -> int:
    """The form over its draft, or a new draft (also when the old one was sent meanwhile)."""
    with tenant_work(runtime, visitor) as (session, actor):
        if draft_id is not None:
            try:
                return drafts.replace_draft(
                    session, actor=actor, draft_id=draft_id, data=data, runtime=runtime
                ).id
            except NotFoundError:
                pass  # sent or deleted in another window: what is typed here becomes a new one
        return drafts.create_draft(session, actor=actor, data=data, runtime=runtime).id


def _upload(runtime: Runtime, visitor: Visitor, form: FormData, state: ComposeState) -> None:
    """Store the files chosen in the form (each committed) and attach them."""
    for item in form.getlist("files"):
        if not isinstance(item, UploadFile) or not item.filename:
            continue  # an empty file input still sends a part
        upload = files.Upload(item.filename, item.content_type, item.file)
        stored = files.upload_file(transactions(runtime, visitor), runtime.settings, upload)
        state.attachments.append(stored.id)


def _errors(exc: Exception, state: ComposeState, translate: Translator, runtime: Runtime) -> Errors:
    if isinstance(exc, pydantic.ValidationError):
        return schema_errors(exc, translate)
    assert isinstance(exc, ValidationError)
    pieces = dict(indexed_pieces(state.values))
    return problem_errors(exc, translate, pieces, runtime.settings)


def _refusal(runtime: Runtime, visitor: Visitor, exc: SendingRefusedError) -> Notice:
    with tenant_work(runtime, visitor) as (session, actor):
        limit = relay.document_limit(get_company(session, actor.company_id), runtime.settings)
    return refusal_notice(exc, Translator(visitor.language), limit)


def _remove(form: FormData, state: ComposeState) -> None:
    raw = form.get("remove")
    if isinstance(raw, str) and raw.isdigit() and int(raw) in state.attachments:
        state.attachments.remove(int(raw))


def _save_form(runtime: Runtime, visitor: Visitor, form: FormData, state: ComposeState) -> None:
    """Uploads, removal and the draft itself; raises what the services refuse."""
    _upload(runtime, visitor, form, state)
    _remove(form, state)
    data = DraftWrite.model_validate(draft_input(form, state.attachments))
    state.draft_id = save_draft(runtime, visitor, state.draft_id, data)
    state.saved_at = utcnow()


def _send(runtime: Runtime, visitor: Visitor, draft_id: int) -> int:
    with tenant_work(runtime, visitor) as (session, actor):
        return drafts.send_draft(session, actor=actor, draft_id=draft_id, runtime=runtime).id


async def compose_form(
    request: Request, visitor: VisitorDep, runtime: RuntimeDep
) -> AsyncIterator[FormData | None]:
    """The posted form, CSRF-checked; None when the request is larger than a whole message
    may be (refused before its files are spooled to disk). Its files are closed afterwards."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > runtime.settings.max_message_bytes:
        yield None
        return
    form = await checked_form(request, visitor)
    try:
        yield form
    finally:
        await form.close()


@router.post("/compose", response_model=None)
def submit(
    request: Request,
    visitor: VisitorDep,
    runtime: RuntimeDep,
    form: Annotated[FormData | None, Depends(compose_form)],
) -> Response:
    """Send, attach, remove an attachment or save: the draft is saved first in every case."""
    translate = Translator(visitor.language)
    if form is None:
        title, message = TOO_LARGE
        context = {"title": title, "message": message}
        return render(request, "error.html", context, status_code=413)
    state = ComposeState(submitted_values(form), draft_id_of(form), attachment_ids(form))
    try:
        _save_form(runtime, visitor, form, state)
    except (ValidationError, pydantic.ValidationError) as exc:
        state.errors = _errors(exc, state, translate, runtime)
        return compose_page(request, runtime, visitor, state, status_code=422)
    assert state.draft_id is not None
    if form.get("action") != "send":
        return redirect(f"/compose/{state.draft_id}")
    try:
        message_id = _send(runtime, visitor, state.draft_id)
    except ValidationError as exc:
        state.errors = _errors(exc, state, translate, runtime)
        return compose_page(request, runtime, visitor, state, status_code=422)
    except SendingRefusedError as exc:
        state.notice = _refusal(runtime, visitor, exc)
        return compose_page(request, runtime, visitor, state, status_code=403)
    return redirect(f"/outbox/{message_id}?queued=1")


async def _autosave_form(request: Request) -> AsyncIterator[tuple[Visitor, FormData] | None]:
    """Visitor and form for an autosave; None instead of a login redirect, which would take
    the browser away from what is being typed."""
    visitor = await run_in_threadpool(find_visitor, request)
    if visitor is None:
        yield None
        return
    form = await request.form()
    try:
        presented = form.get(CSRF_FIELD)
        valid = isinstance(presented, str) and tokens_match(presented, visitor.csrf_token)
        yield (visitor, form) if valid else None
    finally:
        await form.close()


@router.post("/compose/draft", response_model=None)
def autosave(
    request: Request,
    runtime: Annotated[Runtime, Depends(get_runtime)],
    found: Annotated[tuple[Visitor, FormData] | None, Depends(_autosave_form)],
) -> Response:
    """The form's autosave (htmx, every few seconds) and its save on leaving (sendBeacon).
    Files are not uploaded here; attached ones are kept by id."""
    if found is None:
        gone = {"draft_id": None, "saved_at": None, "draft_error": NOT_SAVED_LOGGED_OUT}
        return render(request, "compose_draft_state.html", gone)
    visitor, form = found
    translate = Translator(visitor.language)
    draft_id = draft_id_of(form)
    context: dict[str, object] = {"draft_id": draft_id, "saved_at": None, "draft_error": None}
    try:
        data = DraftWrite.model_validate(draft_input(form, attachment_ids(form)))
        draft_id = save_draft(runtime, visitor, draft_id, data)
    except (ValidationError, pydantic.ValidationError) as exc:
        state = ComposeState(submitted_values(form))
        errors = _errors(exc, state, translate, runtime)
        context["draft_error"] = " ".join(m for messages in errors.values() for m in messages)
        return render(request, "compose_draft_state.html", context)
    context |= {"draft_id": draft_id, "saved_at": utcnow()}
    response = render(request, "compose_draft_state.html", context)
    # A reload now opens the draft instead of an empty form.
    response.headers["HX-Replace-Url"] = f"/compose/{draft_id}"
    return response


@dataclass(frozen=True)
class DraftRow:
    id: int
    subject: str
    to: str
    updated_at: datetime


@router.get("/drafts", response_model=None)
def drafts_page(
    request: Request, visitor: VisitorDep, runtime: RuntimeDep, page: int = 1
) -> Response:
    """The visitor's own drafts, last saved first."""
    page = max(page, 1)
    with tenant_work(runtime, visitor) as (session, actor):
        rows, total = drafts.list_drafts(
            session, actor=actor, limit=DRAFTS_PAGE_SIZE, offset=(page - 1) * DRAFTS_PAGE_SIZE
        )
        items = []
        for row in rows:
            values = draft_values(drafts.fields_of(row))
            items.append(DraftRow(row.id, values["subject"], values["to"], row.updated_at))
    context = {
        "drafts": items,
        "total": total,
        "page": page,
        "has_next": page * DRAFTS_PAGE_SIZE < total,
    }
    return render(request, "compose_drafts.html", context)


@router.post("/drafts/{draft_id}/delete", response_model=None)
def delete_draft(
    draft_id: int, visitor: VisitorDep, _form: CheckedForm, runtime: RuntimeDep
) -> Response:
    with tenant_work(runtime, visitor) as (session, actor):
        drafts.delete_draft(session, actor=actor, draft_id=draft_id)
    return redirect("/drafts")
