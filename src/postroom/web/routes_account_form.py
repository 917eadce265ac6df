"""One account: the form for all its settings (new, edit, read-only), delete, and its history."""

from __future__ import annotations

from typing import Any

import pydantic
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from postroom.db.models import Account, User
from postroom.errors import ConflictError, FieldProblem, ValidationError
from postroom.services import access, accounts
from postroom.services.account_schemas import SECRET_FIELDS, AccountCreate, AccountUpdate
from postroom.services.runtime import Runtime
from postroom.web.auth import CheckedForm, RuntimeDep, Visitor, VisitorDep, tenant_work
from postroom.web.fields import (
    CHOICES,
    FORM_LEVEL,
    LABELS,
    field_label,
    problem_errors,
    schema_errors,
)
from postroom.web.forms import (
    OWNER_FIELD,
    account_values,
    clear_field,
    default_values,
    parse_account_form,
    submitted_values,
)
from postroom.web.i18n import Translator
from postroom.web.rendering import redirect, render
from postroom.web.views import form_choices, history_entries

router = APIRouter()

HISTORY_PAGE_SIZE = 100
# What a save can be refused for; the transaction is rolled back, so nothing is half-saved.
REFUSED = (pydantic.ValidationError, ValidationError, ConflictError)
Errors = dict[str, list[str]]


def _secrets_set(account: Account | None) -> dict[str, bool]:
    # Whether a password is stored, to say so; the value itself never reaches a page (A12).
    if account is None:
        return dict.fromkeys(SECRET_FIELDS, False)
    return {
        "smtp_password": account.smtp_password_encrypted is not None,
        "incoming_password": account.incoming_password_encrypted is not None,
    }


def _form_page(
    request: Request,
    runtime: Runtime,
    visitor: Visitor,
    *,
    account_id: int | None,
    values: dict[str, Any] | None = None,
    errors: Errors | None = None,
    retype: frozenset[str] = frozenset(),
    status_code: int = 200,
) -> HTMLResponse:
    with tenant_work(runtime, visitor) as (session, actor):
        account = None
        if account_id is not None:
            account = accounts.get_account(session, actor=actor, account_id=account_id)
        shown = values
        if shown is None:
            shown = account_values(account) if account else default_values(_default_owner(actor))
        context: dict[str, Any] = {
            "account": _heading(account),
            "can_edit": account is None or access.can_edit(actor, account),
            "is_admin": actor.is_admin,
            "secrets_set": _secrets_set(account),
            "choices": form_choices(session),
        }
    translate = Translator(visitor.language)
    context |= {
        "values": shown,
        "errors": errors or {},
        "form_errors": (errors or {}).get(FORM_LEVEL, []),
        # Each field at fault, named with its section ("Outgoing · Port"), linked to the input.
        "error_summary": [
            (name, field_label(name, translate), " ".join(messages))
            for name, messages in (errors or {}).items()
            if name in LABELS
        ],
        "retype": retype,
        "labels": LABELS,
        "options": CHOICES,
        "clear_field": clear_field,
        "tab": "settings",
    }
    return render(request, "account_form.html", context, status_code=status_code)


def _heading(account: Account | None) -> dict[str, Any] | None:
    return None if account is None else {"id": account.id, "email": account.email_address}


def _default_owner(actor: User) -> int | None:
    # Administrators mostly set up shared addresses; a user can only create their own.
    return None if actor.is_admin else actor.id


def _errors_of(exc: Exception, translate: Translator) -> Errors:
    if isinstance(exc, pydantic.ValidationError):
        return schema_errors(exc, translate)
    if isinstance(exc, ValidationError):
        return problem_errors(exc.problems, translate) or {FORM_LEVEL: [exc.message]}
    if isinstance(exc, ConflictError) and exc.code == "protocol_locked":
        return problem_errors([FieldProblem("incoming_protocol", exc.message, exc.code)], translate)
    return {FORM_LEVEL: [str(exc)]}


def _refused(
    request: Request,
    runtime: Runtime,
    visitor: Visitor,
    account_id: int | None,
    form: FormData,
    exc: Exception,
) -> HTMLResponse:
    """The form again with the user's input and each error next to its field; nothing saved."""
    # Typed passwords are not shown again (A12): the user is asked to type them once more.
    retype = frozenset(name for name in SECRET_FIELDS if form.get(name))
    return _form_page(
        request,
        runtime,
        visitor,
        account_id=account_id,
        values=submitted_values(form),
        errors=_errors_of(exc, Translator(visitor.language)),
        retype=retype,
        status_code=422,
    )


@router.get("/accounts/new", response_model=None)
def new_form(request: Request, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    return _form_page(request, runtime, visitor, account_id=None)


@router.post("/accounts/new", response_model=None)
def create(
    request: Request, visitor: VisitorDep, form: CheckedForm, runtime: RuntimeDep
) -> Response:
    data = parse_account_form(form, with_owner=True, new=True)
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            if not actor.is_admin:
                data[OWNER_FIELD] = actor.id  # the form offers no choice to a non-admin
            account = accounts.create_account(
                session,
                actor=actor,
                data=AccountCreate.model_validate(data),
                box=runtime.secret_box,
            )
            account_id = account.id
    except REFUSED as exc:
        return _refused(request, runtime, visitor, None, form, exc)
    return redirect(f"/accounts/{account_id}", flash="created")


@router.get("/accounts/{account_id}", response_model=None)
def edit_form(
    request: Request, account_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    return _form_page(request, runtime, visitor, account_id=account_id)


@router.post("/accounts/{account_id}", response_model=None)
def update(
    request: Request, account_id: int, visitor: VisitorDep, form: CheckedForm, runtime: RuntimeDep
) -> Response:
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            data = parse_account_form(form, with_owner=actor.is_admin, new=False)
            accounts.update_account(
                session,
                actor=actor,
                account_id=account_id,
                data=AccountUpdate.model_validate(data),
                box=runtime.secret_box,
            )
    except REFUSED as exc:
        return _refused(request, runtime, visitor, account_id, form, exc)
    return redirect(f"/accounts/{account_id}", flash="saved")


@router.post("/accounts/{account_id}/delete", response_model=None)
def delete(
    account_id: int, visitor: VisitorDep, _form: CheckedForm, runtime: RuntimeDep
) -> Response:
    with tenant_work(runtime, visitor) as (session, actor):
        accounts.delete_account(session, actor=actor, account_id=account_id)
    return redirect("/accounts", flash="deleted")


@router.get("/accounts/{account_id}/history", response_model=None)
def history_page(
    request: Request, account_id: int, visitor: VisitorDep, runtime: RuntimeDep, page: int = 1
) -> Response:
    translate = Translator(visitor.language)
    page = max(page, 1)
    with tenant_work(runtime, visitor) as (session, actor):
        account = accounts.get_account(session, actor=actor, account_id=account_id)
        changes, total = accounts.account_history(
            session,
            actor=actor,
            account_id=account_id,
            limit=HISTORY_PAGE_SIZE,
            offset=(page - 1) * HISTORY_PAGE_SIZE,
        )
        entries = history_entries(session, changes, translate)
        context = {
            "account": _heading(account),
            "entries": entries,
            "page": page,
            "has_next": page * HISTORY_PAGE_SIZE < total,
            "tab": "history",
        }
    return render(request, "account_history.html", context)
