"""The campaign wizard's first steps: the template (the draft is made here) and the rows
(upload or paste, with the validation report). The campaign is a draft from the first step on,
so each step is saved and can be left and come back to; routes_campaign_steps.py has the rest."""

from __future__ import annotations

import io
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from postroom.enums import CampaignKind
from postroom.errors import SendingRefusedError, ValidationError
from postroom.services import campaign_drafts, campaign_recipients, campaigns
from postroom.services.campaign_schemas import CampaignCreate
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
    parse_questions,
    question_messages,
    wizard_errors,
)
from postroom.web.campaign_wizard_view import (
    WIZARD_MESSAGES,
    draft_context,
    form_text,
    not_draft,
    refusal_text,
    service_errors,
    step_context,
)
from postroom.web.fields import schema_errors
from postroom.web.i18n import Translator
from postroom.web.rendering import redirect, render

router = APIRouter()

PASTED_NAME = "pasted.csv"


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
        **step_context("template"),
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
    values = {k: form_text(form, k) for k in ("name", "template_id", "kind", QUESTIONS_FIELD)}
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
        notice = refusal_text(runtime, visitor, exc)
        return _template_page(request, runtime, visitor, values, {}, 403, notice=notice)
    return redirect(f"/campaigns/{campaign_id}/recipients")


@router.get("/campaigns/{campaign_id}/recipients", response_model=None)
def recipients_step(
    request: Request, campaign_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    context = draft_context(runtime, visitor, campaign_id, "recipients")
    return not_draft(context) or render(request, "campaign_wizard_recipients.html", context)


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
    context = draft_context(runtime, visitor, campaign_id, "recipients")
    if (gone := not_draft(context)) is not None:
        return gone
    if form is None:
        context["errors"] = {"file": [translate(WIZARD_MESSAGES["too_large"])]}
        return render(request, "campaign_wizard_recipients.html", context, status_code=413)
    upload = form.get("file")
    pasted = form_text(form, "pasted")
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            campaign = campaigns.get_campaign(session, actor=actor, campaign_id=campaign_id)
            if form.get("action") == "clear":
                campaign_drafts.clear_rows(session, campaign=campaign)
            elif isinstance(upload, UploadFile) and upload.filename:
                campaign_recipients.add_file_rows(
                    session,
                    actor=actor,
                    campaign_id=campaign_id,
                    filename=upload.filename,
                    content_type=upload.content_type,
                    stream=upload.file,
                    runtime=runtime,
                )
            elif pasted:
                campaign_recipients.add_file_rows(
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
        limit = runtime.settings.campaign_max_recipients
        context["errors"] = {"file": service_errors(exc, translate, limit)}
        return render(request, "campaign_wizard_recipients.html", context, status_code=422)
    return redirect(f"/campaigns/{campaign_id}/recipients")
