"""One account: the form for all its settings (new, edit, read-only), delete, and its history."""

from __future__ import annotations

import pydantic
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from postroom.errors import ConflictError, ValidationError
from postroom.services import account_setup, accounts
from postroom.services.account_schemas import AccountCreate, AccountUpdate
from postroom.services.account_test import AccountTestFailedError
from postroom.services.runtime import Runtime
from postroom.web.account_page import PageInput, errors_of, form_page
from postroom.web.auth import (
    CheckedForm,
    RuntimeDep,
    Visitor,
    VisitorDep,
    tenant_work,
    transactions,
)
from postroom.web.forms import (
    OWNER_FIELD,
    parse_account_form,
    submitted_values,
    typed_secrets,
    with_mailbox_password,
)
from postroom.web.i18n import Translator
from postroom.web.rendering import redirect, render
from postroom.web.report_view import report_view
from postroom.web.views import history_entries

router = APIRouter()

HISTORY_PAGE_SIZE = 100
# What a save can be refused for; the transaction is rolled back, so nothing is half-saved.
REFUSED = (pydantic.ValidationError, ValidationError, ConflictError)


def new_account_input(form: FormData, visitor: Visitor) -> AccountCreate:
    """A new account from the wizard's form; a user can only create their own account."""
    data = with_mailbox_password(parse_account_form(form, with_owner=True, new=True), form)
    if not visitor.is_admin:
        data[OWNER_FIELD] = visitor.user_id  # the form offers no choice to a non-admin
    return AccountCreate.model_validate(data)


def account_update_input(form: FormData, visitor: Visitor) -> AccountUpdate:
    return AccountUpdate.model_validate(
        parse_account_form(form, with_owner=visitor.is_admin, new=False)
    )


def refused(
    request: Request,
    runtime: Runtime,
    visitor: Visitor,
    account_id: int | None,
    form: FormData,
    exc: Exception,
) -> HTMLResponse:
    """The form again with the user's input and what was wrong; nothing saved. A failed test
    (409) shows its report with the failing step, the server's words and the advice."""
    translate = Translator(visitor.language)
    failed_test = isinstance(exc, AccountTestFailedError)
    given = PageInput(
        values=submitted_values(form),
        errors={} if failed_test else errors_of(exc, translate),
        # Typed passwords are not shown again (A12): the user is asked to type them once more.
        retype=typed_secrets(form),
        report=report_view(exc.report, translate)
        if isinstance(exc, AccountTestFailedError)
        else None,
        refused_by_test=failed_test,
    )
    status = 409 if failed_test else 422
    return form_page(
        request, runtime, visitor, account_id=account_id, given=given, status_code=status
    )


@router.get("/accounts/new", response_model=None)
def new_form(request: Request, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    return form_page(request, runtime, visitor, account_id=None)


@router.post("/accounts/new", response_model=None)
def create(
    request: Request, visitor: VisitorDep, form: CheckedForm, runtime: RuntimeDep
) -> Response:
    """Saved only if the connection test passes (A6); the test runs again here, whatever the
    page showed before."""
    try:
        account = account_setup.create_tested_account(
            transactions(runtime, visitor), runtime, data=new_account_input(form, visitor)
        )
    except REFUSED as exc:
        return refused(request, runtime, visitor, None, form, exc)
    return redirect(f"/accounts/{account.id}", flash="created")


@router.get("/accounts/{account_id}", response_model=None)
def edit_form(
    request: Request, account_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    given = PageInput(query=dict(request.query_params))
    return form_page(request, runtime, visitor, account_id=account_id, given=given)


@router.post("/accounts/{account_id}", response_model=None)
def update(
    request: Request, account_id: int, visitor: VisitorDep, form: CheckedForm, runtime: RuntimeDep
) -> Response:
    """A change of connection settings is tested first and refused if the test fails."""
    try:
        account_setup.update_tested_account(
            transactions(runtime, visitor),
            runtime,
            account_id=account_id,
            data=account_update_input(form, visitor),
        )
    except REFUSED as exc:
        return refused(request, runtime, visitor, account_id, form, exc)
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
            "account": {"id": account.id, "email": account.email_address},
            "entries": entries,
            "page": page,
            "has_next": page * HISTORY_PAGE_SIZE < total,
            "tab": "history",
        }
    return render(request, "account_history.html", context)
