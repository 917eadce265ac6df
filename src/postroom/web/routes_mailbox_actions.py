"""What the mail pages change (D1–D3): "fetch now" with the fetch's live state, delete to
Deleted Items, restore, purge, move, read/unread and flagged, and folder edits.

Every action calls the same services as the REST API, so the same rules apply and a refusal
shows the API's sentence. Success goes back to the page the form came from with a notice
(`?done=`), which a reload does not repeat (303 See Other); a refusal shows that page again
with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import parse_qsl, urlsplit

import pydantic
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from postroom.enums import Language
from postroom.errors import PostroomError, ValidationError
from postroom.services import accounts, folders, mail_actions, mail_purge, sync_schedule
from postroom.services.mailbox_schemas import (
    FolderCreate,
    FolderUpdate,
    MailFlagsBulk,
    MailIds,
    MailMove,
)
from postroom.services.runtime import Runtime
from postroom.services.sync_progress import read_status
from postroom.web.auth import (
    CheckedForm,
    RuntimeDep,
    Visitor,
    VisitorDep,
    safe_next,
    tenant_work,
    transactions,
)
from postroom.web.i18n import Translator
from postroom.web.mailbox_actions_view import (
    NO_FOLDER,
    NOTHING_CHOSEN,
    REFRESH_SECONDS,
    Notice,
    refusal,
    status_code_of,
    sync_view,
    with_done,
)
from postroom.web.mailbox_view import MailQuery
from postroom.web.rendering import redirect, render
from postroom.web.routes_mailbox import list_page, message_response, purger_names

router = APIRouter()

_MESSAGE_PAGE = re.compile(r"^/mail/(\d+)$")
# The flag buttons' values -> the flags they set, and the notice each leaves.
_FLAG_ACTIONS = {
    "read": {"seen": True},
    "unread": {"seen": False},
    "flag": {"flagged": True},
    "unflag": {"flagged": False},
}
_FLAG_NOTICES = {"read": "read", "unread": "unread", "flag": "flagged", "unflag": "unflagged"}


def _ids(form: FormData) -> list[int]:
    return [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()]


def _back(form: FormData) -> str:
    return safe_next(str(form.get("next") or "/mail"))


def _refused_page(
    request: Request, visitor: Visitor, runtime: Runtime, back: str, notice: Notice, status: int
) -> Response:
    """The page the form came from again, with the reason at its top."""
    parts = urlsplit(back)
    found = _MESSAGE_PAGE.match(parts.path)
    if found:
        page, _ = message_response(
            request, visitor, runtime, int(found.group(1)), notice=notice, status_code=status
        )
        return page
    query = MailQuery.parse(dict(parse_qsl(parts.query)))
    return list_page(request, visitor, runtime, query, notice=notice, status_code=status)


def _run(
    request: Request,
    visitor: Visitor,
    runtime: Runtime,
    *,
    action: str,
    back: str,
    work: Callable[[], tuple[str, int | None]],
    refused_back: str | None = None,
) -> Response:
    """Do `work` (it answers the notice key and count) and go to `back`; on a refusal, say
    why on `refused_back` (default: `back`)."""
    translate = Translator(visitor.language)
    shown = refused_back or back
    try:
        key, count = work()
    except pydantic.ValidationError:
        notice = Notice(translate(NOTHING_CHOSEN), error=True)
        return _refused_page(request, visitor, runtime, shown, notice, 422)
    except PostroomError as exc:
        if isinstance(exc, LookupError):
            raise  # another company's or an unseen id: the 404 page
        names = _purgers(runtime, visitor) if exc.code == "purge_not_allowed" else None
        notice = refusal(action, exc, translate, names)
        return _refused_page(request, visitor, runtime, shown, notice, status_code_of(exc))
    return redirect(with_done(back, key, count))


def _purgers(runtime: Runtime, visitor: Visitor) -> str | None:
    if visitor.language is not Language.PL:
        return None
    with tenant_work(runtime, visitor) as (session, _actor):
        return purger_names(session)


# Messages


def _message_work(
    runtime: Runtime, visitor: Visitor, action: str, form: FormData
) -> Callable[[], tuple[str, int | None]]:
    begin = transactions(runtime, visitor)
    ids = _ids(form)
    translate = Translator(visitor.language)

    def work() -> tuple[str, int | None]:
        if action == "delete":
            return "deleted", len(mail_actions.delete_messages(begin, runtime, ids=_checked(ids)))
        if action == "restore":
            return "restored", len(mail_actions.restore_messages(begin, runtime, ids=_checked(ids)))
        if action == "purge":
            result = mail_purge.purge_messages(begin, runtime, ids=_checked(ids))
            return "purged", result.purged
        if action == "move":
            raw = str(form.get("folder_id") or "")
            if not raw.isdigit():
                raise ValidationError.for_field("folder_id", translate(NO_FOLDER))
            body = MailMove(ids=ids, folder_id=int(raw))
            moved = mail_actions.move_to_folder(
                begin, runtime, ids=body.ids, folder_id=body.folder_id
            )
            return "moved", len(moved)
        flags = MailFlagsBulk(ids=ids, **_FLAG_ACTIONS[action])
        changed = mail_actions.set_flags(
            begin, runtime, ids=flags.ids, seen=flags.seen, flagged=flags.flagged
        )
        return _FLAG_NOTICES[action], len(changed)

    return work


def _checked(ids: Sequence[int]) -> list[int]:
    """The API's limits on ids (at least one, at most MAX_IDS), as the API checks them."""
    return MailIds(ids=list(ids)).ids


_ACTIONS = frozenset({"delete", "restore", "purge", "move", *_FLAG_ACTIONS})


@router.post("/mail/actions", response_model=None)
def message_action(
    request: Request, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """One form for the list's ticked messages and for the message page's buttons: the
    pressed button's `action`, the `ids`, and for a move the `folder_id`."""
    action = str(form.get("action") or "")
    if action not in _ACTIONS:  # no button of ours pressed: nothing is done
        return redirect(_back(form))
    kind = action if action in ("delete", "restore", "purge", "move") else "flags"
    work = _message_work(runtime, visitor, action, form)
    # From a message's page: flags keep it open; what takes it away goes back to its folder.
    stay = safe_next(str(form["stay"])) if form.get("stay") else None
    back = stay if stay and action in ("read", "flag", "unflag") else _back(form)
    return _run(request, visitor, runtime, action=kind, back=back, work=work, refused_back=stay)


# Fetching


def _sync_fragment(
    request: Request,
    visitor: Visitor,
    runtime: Runtime,
    account_id: int,
    *,
    notice: Notice | None = None,
    reload_when_idle: bool = False,
) -> Response:
    with tenant_work(runtime, visitor) as (session, actor):
        account = accounts.get_account(session, actor=actor, account_id=account_id)  # else 404
        sync = sync_view(read_status(session, account))
    context = {"sync": sync, "sync_refresh": REFRESH_SECONDS, "sync_notice": notice}
    response = render(request, "mailbox_sync.html", context)
    # The answer that sees the fetch ended reloads the page: its folders and mail are new.
    if reload_when_idle and not sync.busy:
        response.headers["HX-Refresh"] = "true"
    return response


@router.get("/mail/accounts/{account_id}/sync", response_model=None)
def sync_state(
    request: Request, account_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """An account's fetch state for the sidebar; htmx asks again while a fetch is busy."""
    polled = request.headers.get("HX-Request") == "true"
    return _sync_fragment(request, visitor, runtime, account_id, reload_when_idle=polled)


@router.post("/mail/accounts/{account_id}/fetch", response_model=None)
def fetch_now(
    request: Request, account_id: int, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """ "Fetch now", as POST /api/v1/accounts/{id}/fetch: the worker fetches at once."""
    htmx = request.headers.get("HX-Request") == "true"
    translate = Translator(visitor.language)
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            account = accounts.get_account(session, actor=actor, account_id=account_id)
            sync_schedule.request_fetch(session, account)
    except PostroomError as exc:
        if isinstance(exc, LookupError):
            raise
        notice = refusal("fetch", exc, translate)
        if htmx:  # the block says why; 200 so htmx swaps it in
            return _sync_fragment(request, visitor, runtime, account_id, notice=notice)
        back = _back(form)
        return _refused_page(request, visitor, runtime, back, notice, status_code_of(exc))
    sync_schedule.notify_requested(account_id)  # after the commit: the worker sees the request
    if htmx:  # a fetch done already by the time of this answer: the page reloads at once
        return _sync_fragment(request, visitor, runtime, account_id, reload_when_idle=True)
    return redirect(with_done(_back(form), "fetch"))


# Folders


def _folder_name(form: FormData) -> str:
    return str(form.get("name") or "")


def _parent(form: FormData) -> int | None:
    raw = str(form.get("parent_id") or "")
    return int(raw) if raw.isdigit() else None


@router.post("/mail/accounts/{account_id}/folders", response_model=None)
def create_folder(
    request: Request, account_id: int, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """A new folder, on the IMAP server first (POST /api/v1/accounts/{id}/folders)."""
    begin = transactions(runtime, visitor)
    created: list[int] = []

    def work() -> tuple[str, int | None]:
        data = _folder_input(FolderCreate, name=_folder_name(form), parent_id=_parent(form))
        created.append(folders.create_folder(begin, runtime, account_id=account_id, data=data).id)
        return "folder_created", None

    back = _back(form)
    response = _run(request, visitor, runtime, action="folder_create", back=back, work=work)
    if created and response.status_code == 303:  # the new folder, open
        return redirect(with_done(f"/mail?folder={created[0]}", "folder_created"))
    return response


@router.post("/mail/folders/{folder_id}/rename", response_model=None)
def rename_folder(
    request: Request, folder_id: int, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """A new name (PATCH /api/v1/folders/{id}); subfolders move along."""
    begin = transactions(runtime, visitor)

    def work() -> tuple[str, int | None]:
        data = _folder_input(FolderUpdate, name=_folder_name(form))
        folders.rename_folder(begin, runtime, folder_id=folder_id, data=data)
        return "folder_renamed", None

    back = f"/mail?folder={folder_id}"
    return _run(request, visitor, runtime, action="folder_rename", back=back, work=work)


@router.post("/mail/folders/{folder_id}/delete", response_model=None)
def delete_folder(
    request: Request, folder_id: int, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """An empty folder without subfolders (DELETE /api/v1/folders/{id})."""
    begin = transactions(runtime, visitor)

    def work() -> tuple[str, int | None]:
        folders.delete_folder(begin, runtime, folder_id=folder_id)
        return "folder_deleted", None

    back = f"/mail?folder={folder_id}"
    response = _run(request, visitor, runtime, action="folder_delete", back=back, work=work)
    if response.status_code == 303:
        return redirect(with_done("/mail", "folder_deleted"))
    return response


_Input = TypeVar("_Input", bound=pydantic.BaseModel)


def _folder_input(model: type[_Input], **values: object) -> _Input:
    """The API's schema, so a name is checked as the API checks it; its message as the
    service's (a ValidationError), not pydantic's."""
    try:
        return model.model_validate(values)
    except pydantic.ValidationError as exc:
        raise ValidationError.for_field("name", _name_problem(values.get("name"))) from exc


def _name_problem(name: object) -> str:
    if not str(name or "").strip():
        return "A folder needs a name."
    return "A folder name can be at most 200 characters long."
