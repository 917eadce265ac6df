"""Office settings (administrators only): SMS on with the cost accepted, or off; the SMS sender
name; the reminder defaults per kind; the dunning ladder of unpaid-invoice notices."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.enums import ReminderKind
from postroom.errors import ConflictError, ValidationError
from postroom.services import dunning, reminder_settings, sms_office
from postroom.services.reminder_scheduler import office_today
from postroom.services.reminder_settings import ReminderSetting
from postroom.services.runtime import Runtime
from postroom.web.auth import CheckedForm, RuntimeDep, Visitor, VisitorDep, tenant_work
from postroom.web.client_page_view import profile_choices
from postroom.web.clients_view import error_text, labels, optional_int
from postroom.web.i18n import N_, Translator
from postroom.web.ladder_errors import ladder_error_text
from postroom.web.office_ladder import ladder_from_form, ladder_rows
from postroom.web.rendering import redirect, render

router = APIRouter()

PAGE = "/office"
NOTICES = {
    "sms_on": N_("SMS is on for the office; the cost acceptance is recorded below."),
    "sms_off": N_("SMS is off for the office: no new SMS are sent."),
    "sender": N_("The SMS sender name was saved."),
    "reminders": N_("The reminder defaults were saved."),
    "ladder": N_("The dunning ladder was saved; pending notices follow it."),
}


def _users(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {u.id: u.email for u in session.scalars(select(User).where(User.id.in_(wanted)))}


def _context(session: Session, runtime: Runtime) -> dict[str, Any]:
    state = sms_office.sms_state(session, settings=runtime.settings)
    acceptance = state.acceptance
    who = {acceptance.accepted_by_user_id, acceptance.revoked_by_user_id} if acceptance else set()
    ladder = dunning.get_ladder(session)
    return {
        **labels(),
        **profile_choices(),
        "sms": state,
        "users": _users(session, who),
        "defaults": reminder_settings.office_defaults(session),
        "kinds": list(ReminderKind),
        "ladder": ladder,
        "levels": ladder_rows(ladder),
    }


def _page(
    request: Request,
    runtime: Runtime,
    visitor: Visitor,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    translate = Translator(visitor.language)
    if not visitor.is_admin:
        refused: dict[str, Any] = {"refused": True, "notice": None, "errors": {}}
        return render(request, "office_settings.html", refused, status_code=403)
    notice = NOTICES.get(request.query_params.get("done", ""))
    with tenant_work(runtime, visitor) as (session, _actor):
        context = _context(session, runtime)
    context |= {
        "refused": False,
        "notice": translate(notice) if notice else None,
        "errors": errors or {},
    }
    return render(request, "office_settings.html", context, status_code=status_code)


@router.get(PAGE, response_model=None)
def office_page(request: Request, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    return _page(request, runtime, visitor)


@router.post(PAGE + "/sms", response_model=None)
def switch_sms(
    request: Request, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """On only with the price list's box ticked (its name is what is accepted); off always."""
    settings = runtime.settings
    turn_on = form.get("action") == "enable"
    accepted = str(form.get("price_list") or "") if form.get("accept") == "on" else None
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            if turn_on:
                sms_office.enable_sms(
                    session, actor=actor, settings=settings, accept_price_list=accepted
                )
            else:
                sms_office.disable_sms(session, actor=actor, settings=settings)
    except (ValidationError, ConflictError) as exc:
        errors = {"sms": error_text(exc, Translator(visitor.language))}
        status = 409 if isinstance(exc, ConflictError) else 422
        return _page(request, runtime, visitor, errors=errors, status_code=status)
    return redirect(f"{PAGE}?done={'sms_on' if turn_on else 'sms_off'}#sms")


@router.post(PAGE + "/sms/sender", response_model=None)
def sender_name(
    request: Request, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            sms_office.set_sender_name(
                session,
                actor=actor,
                settings=runtime.settings,
                sender_name=str(form.get("sender_name") or ""),
            )
    except ValidationError as exc:
        errors = {"sender": error_text(exc, Translator(visitor.language))}
        return _page(request, runtime, visitor, errors=errors, status_code=422)
    return redirect(f"{PAGE}?done=sender#sms")


def _setting(form: Any, kind: ReminderKind) -> ReminderSetting:
    days = optional_int(form.get(f"{kind.value}_days_before"))
    return ReminderSetting(
        enabled=form.get(f"{kind.value}_enabled") == "on",
        days_before=reminder_settings.BUILT_IN.days_before if days is None else days,
        day_of_month=optional_int(form.get(f"{kind.value}_day_of_month")),
    )


@router.post(PAGE + "/reminders", response_model=None)
def reminder_defaults(
    request: Request, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """Every kind at once: on/off, days before the deadline, day of the month (seed 001)."""
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            for kind in ReminderKind:
                reminder_settings.set_office_default(
                    session, actor=actor, kind=kind, setting=_setting(form, kind)
                )
    except ValidationError as exc:
        errors = {"reminders": error_text(exc, Translator(visitor.language))}
        return _page(request, runtime, visitor, errors=errors, status_code=422)
    return redirect(f"{PAGE}?done=reminders#reminders")


@router.post(PAGE + "/dunning", response_model=None)
def dunning_ladder(
    request: Request, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """The whole ladder replaced; the service re-plans pending notices by it."""
    today = office_today(datetime.now(UTC), runtime.settings.local_timezone)
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            dunning.replace_ladder(session, actor=actor, levels=ladder_from_form(form), today=today)
    except ValidationError as exc:
        errors = {"ladder": ladder_error_text(exc, Translator(visitor.language))}
        return _page(request, runtime, visitor, errors=errors, status_code=422)
    return redirect(f"{PAGE}?done=ladder#ladder")
