"""The campaign wizard's last steps: the sender (the sending rules' choice or an account they
offer, by project), the schedule, the confirmation that starts it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from postroom.errors import ConflictError, SendingRefusedError, ValidationError
from postroom.services import accounts, campaign_control, campaign_drafts, campaigns, routing
from postroom.services.runtime import Runtime
from postroom.web.auth import CheckedForm, RuntimeDep, Visitor, VisitorDep, tenant_work
from postroom.web.campaign_view import local_input_value, parse_local
from postroom.web.campaign_wizard_view import (
    WIZARD_MESSAGES,
    draft_context,
    form_text,
    not_draft,
    refusal_text,
    service_errors,
)
from postroom.web.compose_view import PROBLEMS, project_choices
from postroom.web.i18n import Translator
from postroom.web.rendering import redirect, render

router = APIRouter()

AUTOMATIC = "auto"


def _sender_options(
    runtime: Runtime, visitor: Visitor, project_id: int | None
) -> list[routing.SenderOption]:
    with tenant_work(runtime, visitor) as (session, actor):
        try:
            found = routing.list_senders(
                session, actor=actor, project_id=project_id, settings=runtime.settings
            )
        except SendingRefusedError:
            return []
    return [o for o in found if o.account_id is not None]


def _sender_page(
    request: Request,
    runtime: Runtime,
    visitor: Visitor,
    campaign_id: int,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> Response:
    context = draft_context(runtime, visitor, campaign_id, "sender")
    if (gone := not_draft(context)) is not None:
        return gone
    campaign = context["campaign"]
    with tenant_work(runtime, visitor) as (session, _actor):
        projects = project_choices(session)
    context |= {
        "projects": projects,
        "senders": _sender_options(runtime, visitor, campaign.project_id),
        "selected": str(campaign.account_id) if campaign.account_id else AUTOMATIC,
        "automatic": AUTOMATIC,
        "errors": errors or {},
        "notice": notice,
    }
    return render(request, "campaign_wizard_sender.html", context, status_code=status_code)


@router.get("/campaigns/{campaign_id}/sender", response_model=None)
def sender_step(
    request: Request, campaign_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    return _sender_page(request, runtime, visitor, campaign_id)


@router.get("/campaigns/{campaign_id}/sender/options", response_model=None)
def sender_options(
    request: Request,
    campaign_id: int,
    visitor: VisitorDep,
    runtime: RuntimeDep,
    project_id: str = "",
) -> Response:
    """The sender picker again when the project changes (htmx): what is offered depends on it."""
    project = int(project_id) if project_id.isdigit() else None
    context = {
        "senders": _sender_options(runtime, visitor, project),
        "selected": AUTOMATIC,
        "automatic": AUTOMATIC,
        "errors": {},
    }
    return render(request, "campaign_sender_options.html", context)


@router.post("/campaigns/{campaign_id}/sender", response_model=None)
def save_sender(
    request: Request, campaign_id: int, visitor: VisitorDep, form: CheckedForm, runtime: RuntimeDep
) -> Response:
    sender, project = form_text(form, "sender"), form_text(form, "project_id")
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            campaign = campaigns.get_campaign(session, actor=actor, campaign_id=campaign_id)
            campaign_drafts.update_draft(
                session,
                actor=actor,
                campaign=campaign,
                runtime=runtime,
                account_id=int(sender) if sender.isdigit() else None,
                project_id=int(project) if project.isdigit() else None,
            )
    except ValidationError as exc:
        translate = Translator(visitor.language)
        said = [
            translate(PROBLEMS[p.code]) if p.code in PROBLEMS else p.message for p in exc.problems
        ]
        errors = {"sender": said or [exc.message]}
        return _sender_page(request, runtime, visitor, campaign_id, errors, 422)
    except SendingRefusedError as exc:
        notice = refusal_text(runtime, visitor, exc)
        return _sender_page(request, runtime, visitor, campaign_id, None, 403, notice)
    except ConflictError:
        return redirect(f"/campaigns/{campaign_id}")
    return redirect(f"/campaigns/{campaign_id}/schedule")


@router.get("/campaigns/{campaign_id}/schedule", response_model=None)
def schedule_step(
    request: Request, campaign_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    context = draft_context(runtime, visitor, campaign_id, "schedule")
    zone = runtime.settings.local_timezone
    context |= {"when": local_input_value(context["campaign"].scheduled_at, zone), "zone": zone}
    return not_draft(context) or render(request, "campaign_wizard_schedule.html", context)


@router.post("/campaigns/{campaign_id}/schedule", response_model=None)
def save_schedule(
    request: Request, campaign_id: int, visitor: VisitorDep, form: CheckedForm, runtime: RuntimeDep
) -> Response:
    zone = runtime.settings.local_timezone
    later = form_text(form, "start") == "later"
    when = parse_local(form_text(form, "scheduled_at"), zone) if later else None
    if later and when is None:
        context = draft_context(runtime, visitor, campaign_id, "schedule")
        message = Translator(visitor.language)(WIZARD_MESSAGES["scheduled_at"])
        context |= {"when": "", "zone": zone, "errors": {"scheduled_at": [message]}}
        return render(request, "campaign_wizard_schedule.html", context, status_code=422)
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            campaign = campaigns.get_campaign(session, actor=actor, campaign_id=campaign_id)
            campaign_drafts.update_draft(
                session, actor=actor, campaign=campaign, runtime=runtime, scheduled_at=when
            )
    except ConflictError:
        return redirect(f"/campaigns/{campaign_id}")
    return redirect(f"/campaigns/{campaign_id}/confirm")


def _confirm_context(runtime: Runtime, visitor: Visitor, campaign_id: int) -> dict[str, Any]:
    context = draft_context(runtime, visitor, campaign_id, "confirm")
    campaign = context["campaign"]
    sender = None
    if campaign.account_id is not None:
        with tenant_work(runtime, visitor) as (session, actor):
            sender = accounts.get_account(
                session, actor=actor, account_id=campaign.account_id
            ).email_address
    zone = runtime.settings.local_timezone
    return context | {
        "sender": sender,
        "when": local_input_value(campaign.scheduled_at, zone).replace("T", " "),
        "zone": zone,
    }


@router.get("/campaigns/{campaign_id}/confirm", response_model=None)
def confirm_step(
    request: Request, campaign_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    context = _confirm_context(runtime, visitor, campaign_id)
    return not_draft(context) or render(request, "campaign_wizard_confirm.html", context)


@router.post("/campaigns/{campaign_id}/start", response_model=None)
def start(
    request: Request, campaign_id: int, visitor: VisitorDep, form: CheckedForm, runtime: RuntimeDep
) -> Response:
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            campaign = campaigns.get_campaign(session, actor=actor, campaign_id=campaign_id)
            campaign_control.start_campaign(
                session,
                actor=actor,
                campaign=campaign,
                send_valid_only=form.get("send_valid_only") == "on",
            )
    except ValidationError as exc:
        translate = Translator(visitor.language)
        context = _confirm_context(runtime, visitor, campaign_id)
        limit = runtime.settings.campaign_max_recipients
        context["errors"] = {"start": service_errors(exc, translate, limit)}
        return render(request, "campaign_wizard_confirm.html", context, status_code=422)
    except ConflictError:
        return redirect(f"/campaigns/{campaign_id}")
    return redirect(f"/campaigns/{campaign_id}")
