"""The campaign wizard: template → recipients (upload or paste, with the validation report) →
sender (the sending rules' picker) → schedule → confirm. The campaign is a draft from the first
step on, so each step is saved and a step can be left and come back to."""

from __future__ import annotations

import io
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from postroom.enums import CampaignKind, CampaignStatus
from postroom.errors import ConflictError, SendingRefusedError, ValidationError
from postroom.services import accounts, campaign_control, campaign_drafts, campaigns, relay, routing
from postroom.services.campaign_schemas import CampaignCreate
from postroom.services.campaign_store import validation_report
from postroom.services.companies import get_company
from postroom.services.runtime import Runtime
from postroom.web.auth import (
    CheckedForm,
    RuntimeDep,
    Visitor,
    VisitorDep,
    checked_form,
    tenant_work,
)
from postroom.web.campaign_view import (
    CAMPAIGN_KINDS,
    QUESTIONS_FIELD,
    ROW_STATUSES,
    TONES,
    WIZARD_STEPS,
    local_input_value,
    parse_local,
    parse_questions,
    problem_rows,
    question_messages,
    wizard_errors,
)
from postroom.web.compose_view import project_choices, refusal_notice
from postroom.web.fields import schema_errors
from postroom.web.i18n import N_, Translator
from postroom.web.rendering import redirect, render

router = APIRouter()

AUTOMATIC = "auto"
PASTED_NAME = "pasted.csv"
WIZARD_MESSAGES = {
    "name": N_("Give the campaign a name."),
    "template_id": N_("Choose a template."),
    "file": N_("Upload a file or paste rows."),
    "scheduled_at": N_("Give the date and time to start."),
}


def _form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _base(step: str, campaign_id: int | None = None) -> dict[str, Any]:
    return {
        "steps": WIZARD_STEPS,
        "step": step,
        "campaign_id": campaign_id,
        "errors": {},
        "notice": None,
        "kinds": CAMPAIGN_KINDS,
        "row_statuses": ROW_STATUSES,
        "tones": TONES,
    }


def _template_page(
    request: Request,
    runtime: Runtime,
    visitor: Visitor,
    values: dict[str, str],
    errors: dict[str, list[str]],
    status_code: int = 200,
    notice: str | None = None,
) -> Response:
    with tenant_work(runtime, visitor) as (session, _actor):
        templates = campaign_drafts.template_choices(session)
    context = {
        **_base("template"),
        "templates": templates,
        "values": values,
        "errors": errors,
        "notice": notice,
    }
    return render(request, "campaign_wizard_template.html", context, status_code=status_code)


@router.get("/campaigns/new", response_model=None)
def new_campaign(request: Request, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    values = {
        "name": "",
        "template_id": "",
        "kind": CampaignKind.DOCUMENTS.value,
        QUESTIONS_FIELD: "",
    }
    return _template_page(request, runtime, visitor, values, {})


@router.post("/campaigns/new", response_model=None)
def create_draft(
    request: Request, visitor: VisitorDep, form: CheckedForm, runtime: RuntimeDep
) -> Response:
    translate = Translator(visitor.language)
    values = {k: _form_text(form, k) for k in ("name", "template_id", "kind", QUESTIONS_FIELD)}
    errors: dict[str, list[str]] = {}
    questions, problems = parse_questions(values[QUESTIONS_FIELD])
    if problems:
        errors[QUESTIONS_FIELD] = question_messages(problems, translate)
    for name in ("name", "template_id"):
        if not values[name]:
            errors[name] = [translate(WIZARD_MESSAGES[name])]
    kind = values["kind"] if values["kind"] in CAMPAIGN_KINDS else CampaignKind.DOCUMENTS.value
    if errors:
        return _template_page(request, runtime, visitor, values, errors, 422)
    try:
        request_body = CampaignCreate(
            name=values["name"],
            template_id=int(values["template_id"]) if values["template_id"].isdigit() else 0,
            kind=CampaignKind(kind),
            questions=questions if kind == CampaignKind.SURVEY.value else [],
        )
        with tenant_work(runtime, visitor) as (session, actor):
            created = campaigns.create_campaign(
                session, actor=actor, request=request_body, runtime=runtime
            )
            campaign_id = created.campaign.id
    except pydantic.ValidationError as exc:
        errors = schema_errors(exc, translate)
        return _template_page(request, runtime, visitor, values, errors, 422)
    except ValidationError as exc:
        errors = wizard_errors(exc.problems, translate)
        return _template_page(request, runtime, visitor, values, errors, 422)
    except SendingRefusedError as exc:
        notice = _refusal_text(runtime, visitor, exc)
        return _template_page(request, runtime, visitor, values, {}, 403, notice=notice)
    return redirect(f"/campaigns/{campaign_id}/recipients")


def _refusal_text(runtime: Runtime, visitor: Visitor, exc: SendingRefusedError) -> str:
    """A sending rule's refusal in the visitor's language, with the relay's limit in it."""
    with tenant_work(runtime, visitor) as (session, actor):
        limit = relay.document_limit(get_company(session, actor.company_id), runtime.settings)
    return refusal_notice(exc, Translator(visitor.language), limit).text


def _draft_context(
    runtime: Runtime, visitor: Visitor, campaign_id: int, step: str
) -> dict[str, Any]:
    translate = Translator(visitor.language)
    with tenant_work(runtime, visitor) as (session, actor):
        campaign = campaigns.get_campaign(session, actor=actor, campaign_id=campaign_id)
        template, version = campaigns.template_of(session, campaign)
        report = validation_report(session, campaign.id)
    problems = problem_rows(
        [(r.row_number, r.email, r.status.value, r.problems) for r in report.problems], translate
    )
    return {
        **_base(step, campaign_id),
        "campaign": campaign,
        "report": report,
        "problems": problems,
        "template_name": template.name,
        "template_version": version.version,
        "variables": version.variables,
        "is_draft": campaign.status is CampaignStatus.DRAFT,
    }


def _not_draft(context: dict[str, Any]) -> Response | None:
    return None if context["is_draft"] else redirect(f"/campaigns/{context['campaign_id']}")


@router.get("/campaigns/{campaign_id}/recipients", response_model=None)
def recipients_step(
    request: Request, campaign_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    context = _draft_context(runtime, visitor, campaign_id, "recipients")
    return _not_draft(context) or render(request, "campaign_wizard_recipients.html", context)


async def _rows_form(request: Request, visitor: VisitorDep, runtime: RuntimeDep) -> Any:
    """The posted rows form: a file is read as the client sends it, up to the upload limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > runtime.settings.campaign_upload_max_bytes:
        yield None
        return
    form = await checked_form(request, visitor)
    try:
        yield form
    finally:
        await form.close()


@router.post("/campaigns/{campaign_id}/recipients", response_model=None)
def add_recipients(
    request: Request,
    campaign_id: int,
    visitor: VisitorDep,
    runtime: RuntimeDep,
    form: Annotated[FormData | None, Depends(_rows_form)],
) -> Response:
    """An uploaded CSV/XLSX file or pasted CSV text (first line: the column names); "clear"
    removes every row to start again."""
    translate = Translator(visitor.language)
    context = _draft_context(runtime, visitor, campaign_id, "recipients")
    if (gone := _not_draft(context)) is not None:
        return gone
    upload = form.get("file") if form is not None else None
    pasted = _form_text(form, "pasted") if form is not None else ""
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            campaign = campaigns.get_campaign(session, actor=actor, campaign_id=campaign_id)
            if form is not None and form.get("action") == "clear":
                campaign_drafts.clear_rows(session, campaign=campaign)
            elif isinstance(upload, UploadFile) and upload.filename:
                campaigns.add_file_rows(
                    session,
                    actor=actor,
                    campaign_id=campaign_id,
                    filename=upload.filename,
                    content_type=upload.content_type,
                    stream=upload.file,
                    runtime=runtime,
                )
            elif pasted:
                campaigns.add_file_rows(
                    session,
                    actor=actor,
                    campaign_id=campaign_id,
                    filename=PASTED_NAME,
                    content_type="text/csv",
                    stream=io.BytesIO(pasted.encode()),
                    runtime=runtime,
                )
            else:
                raise ValidationError.for_field(
                    "file", translate(WIZARD_MESSAGES["file"]), "required"
                )
    except ValidationError as exc:
        context["errors"] = {"file": [p.message for p in exc.problems] or [exc.message]}
        return render(request, "campaign_wizard_recipients.html", context, status_code=422)
    return redirect(f"/campaigns/{campaign_id}/recipients")


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
    context = _draft_context(runtime, visitor, campaign_id, "sender")
    if (gone := _not_draft(context)) is not None:
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
    sender, project = _form_text(form, "sender"), _form_text(form, "project_id")
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
        errors = {"sender": [p.message for p in exc.problems] or [exc.message]}
        return _sender_page(request, runtime, visitor, campaign_id, errors, 422)
    except SendingRefusedError as exc:
        notice = _refusal_text(runtime, visitor, exc)
        return _sender_page(request, runtime, visitor, campaign_id, None, 403, notice)
    except ConflictError:
        return redirect(f"/campaigns/{campaign_id}")
    return redirect(f"/campaigns/{campaign_id}/schedule")


@router.get("/campaigns/{campaign_id}/schedule", response_model=None)
def schedule_step(
    request: Request, campaign_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    context = _draft_context(runtime, visitor, campaign_id, "schedule")
    zone = runtime.settings.local_timezone
    context |= {"when": local_input_value(context["campaign"].scheduled_at, zone), "zone": zone}
    return _not_draft(context) or render(request, "campaign_wizard_schedule.html", context)


@router.post("/campaigns/{campaign_id}/schedule", response_model=None)
def save_schedule(
    request: Request, campaign_id: int, visitor: VisitorDep, form: CheckedForm, runtime: RuntimeDep
) -> Response:
    zone = runtime.settings.local_timezone
    later = _form_text(form, "start") == "later"
    when = parse_local(_form_text(form, "scheduled_at"), zone) if later else None
    if later and when is None:
        context = _draft_context(runtime, visitor, campaign_id, "schedule")
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
    context = _draft_context(runtime, visitor, campaign_id, "confirm")
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
    return _not_draft(context) or render(request, "campaign_wizard_confirm.html", context)


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
    except (ValidationError, ConflictError) as exc:
        context = _confirm_context(runtime, visitor, campaign_id)
        context["errors"] = {"start": [exc.message]}
        return render(request, "campaign_wizard_confirm.html", context, status_code=422)
    return redirect(f"/campaigns/{campaign_id}")
