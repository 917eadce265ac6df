"""Setting an account up: settings from the address, "Test account" live, OAuth2 sign-in."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from postroom.enums import OAuthProvider
from postroom.errors import NotFoundError, PermissionDeniedError, ValidationError
from postroom.mail.report import AccountTestReport
from postroom.mail.steps import ProgressCallback
from postroom.services import account_setup, autodiscovery, oauth
from postroom.services.runtime import Runtime
from postroom.web.account_page import PageInput, error_summary, errors_of, form_page
from postroom.web.auth import (
    CheckedForm,
    RuntimeDep,
    Visitor,
    VisitorDep,
    tenant_work,
    transactions,
)
from postroom.web.discovery_view import DISCOVERED_FIELDS, discovered_values, discovery_view
from postroom.web.errors import FORBIDDEN, NOT_FOUND
from postroom.web.fields import CHOICES, FORM_LEVEL, LABELS
from postroom.web.forms import submitted_values, typed_secrets
from postroom.web.i18n import Translator
from postroom.web.live_test import Check, Errors, Panel, run_once, stream_test, wants_live
from postroom.web.rendering import redirect, render, render_text
from postroom.web.report_view import ReportView, report_view
from postroom.web.routes_account_form import REFUSED, account_update_input, new_account_input

router = APIRouter()

# Where the providers send the browser back: the API's callback (api/routes/oauth.py), which
# the web UI must not import; tests/web check that both say the same.
OAUTH_CALLBACK_PATH = "/api/v1/oauth/callback"
SEND_TEST_MESSAGE = "send_test_message"


@router.get("/accounts/new/discover", response_model=None)
async def discover(
    request: Request, visitor: VisitorDep, runtime: RuntimeDep, email_address: str = ""
) -> Response:
    """The wizard asks as the address is typed: what was found, and the filled fields."""
    try:
        found = await autodiscovery.discover_settings(
            settings=runtime.settings, email=email_address[:320]
        )
    except ValidationError:
        return render(request, "discovery.html", {"discovery": None})  # not an address yet
    translate = Translator(visitor.language)
    context = {
        "discovery": discovery_view(found, translate),
        # The form's fields, filled and swapped in place; the user's other input stays.
        "fields": DISCOVERED_FIELDS if found.found else (),
        "values": discovered_values(found),
        "errors": {},
        "labels": LABELS,
        "options": CHOICES,
        "oob": True,
    }
    return render(request, "discovery.html", context)


def _explain(exc: Exception, translate: Translator) -> Errors | None:
    """What stopped a test from running, in the visitor's words; None: not the user's doing."""
    if isinstance(exc, REFUSED):
        return errors_of(exc, translate)
    if isinstance(exc, PermissionDeniedError):
        return {FORM_LEVEL: [translate(FORBIDDEN[1])]}
    if isinstance(exc, NotFoundError):
        return {FORM_LEVEL: [translate(NOT_FOUND[1])]}
    return None


def _panel(request: Request, translate: Translator) -> Panel:
    def panel(view: ReportView | None, errors: Errors) -> str:
        context = {
            "report": view,
            "report_is_last": False,
            "refused_by_test": False,
            "test_form_errors": errors.get(FORM_LEVEL, []),
            "test_error_summary": error_summary(errors, translate),
        }
        return render_text(request, "test_panel.html", context)

    return panel


async def _answer(
    request: Request,
    runtime: Runtime,
    visitor: Visitor,
    form: FormData,
    account_id: int | None,
    check: Check,
) -> Response:
    translate = Translator(visitor.language)

    def explain(exc: Exception) -> Errors | None:
        return _explain(exc, translate)

    if wants_live(request):
        return stream_test(check, _panel(request, translate), explain, translate)
    # Without JavaScript: the whole page again, with the report or what stopped the test.
    report, errors = await run_once(check, explain)
    given = PageInput(
        values=submitted_values(form),
        errors=errors,
        retype=typed_secrets(form),
        report=report_view(report, translate),
    )
    status = 422 if errors else 200
    return await run_in_threadpool(
        form_page, request, runtime, visitor, account_id=account_id, given=given, status_code=status
    )


@router.post("/accounts/new/test", response_model=None)
async def test_new(
    request: Request, visitor: VisitorDep, form: CheckedForm, runtime: RuntimeDep
) -> Response:
    """ "Test account" in the wizard: the form's settings, nothing saved."""
    send = form.get(SEND_TEST_MESSAGE) is not None

    def check(progress: ProgressCallback | None) -> AccountTestReport:
        return account_setup.check_new_settings(
            transactions(runtime, visitor),
            runtime,
            data=new_account_input(form, visitor),
            send_test_message=send,
            progress=progress,
        )

    return await _answer(request, runtime, visitor, form, None, check)


@router.post("/accounts/{account_id:int}/test", response_model=None)
async def test_saved(
    request: Request, account_id: int, visitor: VisitorDep, form: CheckedForm, runtime: RuntimeDep
) -> Response:
    """ "Test account" on a saved account: with the form's changes, nothing saved; without any,
    the stored settings, and the outcome counts for the account's health."""
    send = form.get(SEND_TEST_MESSAGE) is not None

    def check(progress: ProgressCallback | None) -> AccountTestReport:
        return account_setup.check_changed_settings(
            transactions(runtime, visitor),
            runtime,
            account_id=account_id,
            data=account_update_input(form, visitor),
            send_test_message=send,
            progress=progress,
        )

    return await _answer(request, runtime, visitor, form, account_id, check)


@router.post("/accounts/{account_id:int}/oauth/{provider}", response_model=None)
def oauth_start(
    account_id: int, provider: str, visitor: VisitorDep, _form: CheckedForm, runtime: RuntimeDep
) -> Response:
    """ "Connect with Google/Microsoft": remember the sign-in, send the browser to the provider."""
    try:
        chosen = OAuthProvider(provider)
    except ValueError as exc:
        raise NotFoundError(f"No sign-in with {provider}.") from exc
    settings = runtime.settings
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            url = oauth.start_flow(
                session,
                actor=actor,
                account_id=account_id,
                providers=oauth.configured_providers(settings),
                box=runtime.secret_box,
                redirect_uri=settings.effective_public_url + OAUTH_CALLBACK_PATH,
                provider=chosen,
                lifetime=timedelta(minutes=settings.oauth_flow_minutes),
            )
    except ValidationError:  # the provider is not configured (any more)
        query = urlencode({"oauth": "failed", "oauth_error": "oauth_not_configured"})
        return redirect(f"/accounts/{account_id}?{query}")
    return RedirectResponse(url, status_code=303)
