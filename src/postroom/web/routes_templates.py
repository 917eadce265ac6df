"""Templates (C2): the list, the editor with a live preview, version history, a test to oneself."""

# The preview renders what is typed, saved or not, with the variables in the box (htmx posts
# the form a moment after each change). "Send a test to me" sends the saved version, through
# the outbox and the sending rules, to the visitor's own address.

from __future__ import annotations

from typing import Any

import pydantic
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from postroom.enums import Language
from postroom.errors import ConflictError, SendingRefusedError, ValidationError
from postroom.services import template_preview, templates
from postroom.services.template_render import TemplateRenderError
from postroom.services.template_schemas import TemplateCreate, TemplateTestSend, TemplateUpdate
from postroom.web.auth import CheckedForm, RuntimeDep, Visitor, VisitorDep, tenant_work
from postroom.web.compose_view import refusal_notice
from postroom.web.i18n import N_, Translator
from postroom.web.rendering import redirect, render
from postroom.web.sending_labels import DOCUMENT_KINDS
from postroom.web.templates_view import (
    CATEGORIES,
    FORM_FIELDS,
    Errors,
    field_errors,
    form_values,
    parse_variables,
    render_error_text,
    template_row,
    version_row,
)

router = APIRouter()

PAGE = "/templates"
HISTORY_SHOWN = 50
NOTICES = {
    "created": N_("Template saved as version 1."),
    "saved": N_("Saved as a new version."),
    "unchanged": N_("Saved; the content did not change, so there is no new version."),
    "archived": N_("Template archived. Campaigns that used it keep their version."),
    "restored": N_("Template restored."),
}
NAME_TAKEN = N_("A template with this name exists already; choose another name.")
BODY_REQUIRED = N_("Write an HTML body, a text body, or both.")
_LABELS = {"document_kinds": DOCUMENT_KINDS, "categories": CATEGORIES}


def _language(form: FormData) -> Language:
    value = form.get("language")
    return Language.EN if value == Language.EN.value else Language.PL


def _form_dict(form: FormData) -> dict[str, str]:
    return {name: str(form.get(name) or "") for name in FORM_FIELDS}


@router.get(PAGE, response_model=None)
def templates_page(request: Request, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    archived = request.query_params.get("archived") == "1"
    translate = Translator(visitor.language)
    with tenant_work(runtime, visitor) as (session, _actor):
        found, total = templates.list_templates(session, archived=archived, limit=500)
        rows = [template_row(item.template, item.subject) for item in found]
    notice = NOTICES.get(request.query_params.get("done", ""))
    context = {
        **_LABELS,
        "rows": rows,
        "total": total,
        "archived": archived,
        "notice": translate(notice) if notice else None,
    }
    return render(request, "templates_list.html", context)


def _editor(
    request: Request,
    visitor: Visitor,
    runtime: RuntimeDep,
    *,
    template_id: int | None,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    translate = Translator(visitor.language)
    template, history = None, []
    with tenant_work(runtime, visitor) as (session, _actor):
        if template_id is not None:
            found = templates.get_with_version(session, template_id)  # else 404
            template = template_row(found.template, found.version.subject)
            values = values or form_values(found.template, found.version)
            rows, _ = templates.list_versions(session, template_id, limit=HISTORY_SHOWN)
            history = [version_row(v) for v in rows]
    notice = NOTICES.get(request.query_params.get("done", ""))
    context = {
        **_LABELS,
        "template": template,
        "values": values or form_values(None, None),
        "errors": errors or {},
        "history": history,
        "notice": translate(notice) if notice else None,
        "variables_text": "",
        "preview_language": "pl",
        "test_message_id": request.query_params.get("test", ""),
        "test_error": None,
        **(extra or {}),
    }
    return render(request, "templates_editor.html", context, status_code=status_code)


@router.get(PAGE + "/new", response_model=None)
def new_template(request: Request, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    return _editor(request, visitor, runtime, template_id=None)


def _save_errors(exc: Exception, translate: Translator) -> Errors:
    if isinstance(exc, pydantic.ValidationError):
        return field_errors(exc, translate)
    if isinstance(exc, TemplateRenderError):
        return {exc.part or "html": [render_error_text(exc, translate)]}
    if isinstance(exc, ConflictError):
        return {"name": [translate(NAME_TAKEN)]}
    assert isinstance(exc, ValidationError)
    return {"html": [translate(BODY_REQUIRED)]}


def _save(
    runtime: RuntimeDep, visitor: Visitor, template_id: int | None, form: FormData
) -> tuple[int, str]:
    """Create or change the template; the id and what happened (a NOTICES key)."""
    values = _form_dict(form)
    with tenant_work(runtime, visitor) as (session, actor):
        if template_id is None:
            data = TemplateCreate.model_validate(values)
            return templates.create_template(session, actor=actor, data=data).template.id, "created"
        before = templates.get_template(session, template_id).current_version
        update = TemplateUpdate.model_validate(values)
        found = templates.update_template(
            session, actor=actor, template_id=template_id, data=update
        )
        return template_id, "saved" if found.version.version != before else "unchanged"


def _save_and_answer(
    request: Request, visitor: Visitor, runtime: RuntimeDep, template_id: int | None, form: FormData
) -> Response:
    try:
        saved_id, done = _save(runtime, visitor, template_id, form)
    except (pydantic.ValidationError, ValidationError, ConflictError) as exc:
        errors = _save_errors(exc, Translator(visitor.language))
        extra = {"variables_text": str(form.get("variables") or "")}
        return _editor(
            request,
            visitor,
            runtime,
            template_id=template_id,
            values=_form_dict(form),
            errors=errors,
            extra=extra,
            status_code=422,
        )
    return redirect(f"{PAGE}/{saved_id}?done={done}")


@router.post(PAGE + "/new", response_model=None)
def create_template(
    request: Request, visitor: VisitorDep, runtime: RuntimeDep, form: CheckedForm
) -> Response:
    return _save_and_answer(request, visitor, runtime, None, form)


@router.post(PAGE + "/preview", response_model=None)
def preview(
    request: Request, visitor: VisitorDep, runtime: RuntimeDep, form: CheckedForm
) -> Response:
    """The editor's live preview (an htmx fragment): always 200, an error is a result too."""
    translate = Translator(visitor.language)
    values = _form_dict(form)
    variables, error = parse_variables(str(form.get("variables") or ""), translate)
    rendered = None
    if error is None:
        try:
            rendered = template_preview.preview_sources(
                values["subject"],
                values["html"],
                values["text"],
                variables,
                language=_language(form),
                settings=runtime.settings,
            )
        except TemplateRenderError as exc:
            error = render_error_text(exc, translate)
    return render(request, "templates_preview.html", {"rendered": rendered, "error": error})


@router.get(PAGE + "/{template_id}", response_model=None)
def edit_template(
    request: Request, template_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    return _editor(request, visitor, runtime, template_id=template_id)


@router.post(PAGE + "/{template_id}", response_model=None)
def save_template(
    request: Request, template_id: int, visitor: VisitorDep, runtime: RuntimeDep, form: CheckedForm
) -> Response:
    return _save_and_answer(request, visitor, runtime, template_id, form)


def _test_failure(exc: Exception, translate: Translator) -> str:
    if isinstance(exc, TemplateRenderError):
        return render_error_text(exc, translate)
    if isinstance(exc, SendingRefusedError):
        return refusal_notice(exc, translate, None).text
    assert isinstance(exc, ValidationError)
    return "; ".join(problem.message for problem in exc.problems) or exc.message


@router.post(PAGE + "/{template_id}/test", response_model=None)
def send_test(
    request: Request, template_id: int, visitor: VisitorDep, runtime: RuntimeDep, form: CheckedForm
) -> Response:
    """Send the saved version, rendered with the variables in the box, to the visitor."""
    translate = Translator(visitor.language)
    variables, error = parse_variables(str(form.get("variables") or ""), translate)
    if error is None:
        body = TemplateTestSend(variables=variables, language=_language(form))
        try:
            with tenant_work(runtime, visitor) as (session, actor):
                message = template_preview.send_test(
                    session, actor=actor, template_id=template_id, request=body, runtime=runtime
                )
                return redirect(f"{PAGE}/{template_id}?test={message.id}")
        except (ValidationError, SendingRefusedError) as exc:
            error = _test_failure(exc, translate)
    extra = {
        "test_error": error,
        "variables_text": str(form.get("variables") or ""),
        "preview_language": _language(form).value,
    }
    return _editor(
        request,
        visitor,
        runtime,
        template_id=template_id,
        values=_form_dict(form),
        extra=extra,
        status_code=422,
    )


@router.post(PAGE + "/{template_id}/archive", response_model=None)
def archive(
    template_id: int, visitor: VisitorDep, runtime: RuntimeDep, form: CheckedForm
) -> Response:
    with tenant_work(runtime, visitor) as (session, actor):
        templates.archive_template(session, actor=actor, template_id=template_id)
    return redirect(f"{PAGE}?done=archived")


@router.post(PAGE + "/{template_id}/restore", response_model=None)
def restore(
    template_id: int, visitor: VisitorDep, runtime: RuntimeDep, form: CheckedForm
) -> Response:
    with tenant_work(runtime, visitor) as (session, actor):
        data = TemplateUpdate(archived=False)
        templates.update_template(session, actor=actor, template_id=template_id, data=data)
    return redirect(f"{PAGE}/{template_id}?done=restored")


@router.get(PAGE + "/{template_id}/versions/{number}", response_model=None)
def version_page(
    request: Request, template_id: int, number: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """One saved version as it was: never changed, whatever happened to the template since."""
    with tenant_work(runtime, visitor) as (session, _actor):
        found = templates.get_with_version(session, template_id)
        version = templates.get_version(session, template_id, number)  # else 404
        context = {
            **_LABELS,
            "template": template_row(found.template, found.version.subject),
            "version": version_row(version),
            "source": {"subject": version.subject, "html": version.html, "text": version.text},
        }
    return render(request, "templates_version.html", context)
