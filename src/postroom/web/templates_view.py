"""Values for the template pages: the form, the variables box, errors in the visitor's words."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pydantic

from postroom.db.models_campaigns import MessageTemplate, TemplateVersion
from postroom.enums import DocumentCategory
from postroom.services.template_render import TemplateRenderError
from postroom.services.templates import template_category
from postroom.web.fields import FORM_LEVEL, schema_errors
from postroom.web.i18n import N_, Translator

Errors = dict[str, list[str]]
FORM_FIELDS = ("name", "document_kind", "subject", "html", "text")
PARTS = {"subject": N_("the subject"), "html": N_("the HTML body"), "text": N_("the text body")}
CATEGORIES = {
    DocumentCategory.NONE.value: N_("Not a document"),
    DocumentCategory.OWN_TEMPLATE.value: N_("Document from an own template"),
    DocumentCategory.HR.value: N_("HR document"),
    DocumentCategory.STANDARD.value: N_("Standard document"),
}
_REASONS = {
    "undefined_variable": N_("the variable {variable} has no value."),
    "syntax_error": N_("syntax error: {detail}"),
    "unsafe": N_("this is not allowed in a template: {detail}"),
    "too_slow": N_("rendering takes too long; simplify the loops."),
    "too_large": N_("the result would be too large."),
    "render_failed": N_("cannot be rendered: {detail}"),
}
BAD_SUBJECT = N_(
    "The rendered subject contains a line break; check the variables used in the subject."
)
_FIELD_MESSAGES = {
    "string_too_short": N_("This field is required."),
    "missing": N_("This field is required."),
    "value_error": N_("The subject is one line: remove the line breaks."),
    "string_too_long": N_("Too long: at most {max_length} characters."),
    "enum": N_("Choose one of the options."),
}


@dataclass(frozen=True)
class TemplateRow:
    id: int
    name: str
    document_kind: str
    category: str
    current_version: int
    subject: str
    archived: bool
    updated_at: Any


@dataclass(frozen=True)
class VersionRow:
    version: int
    subject: str
    variables: list[str]
    created_at: Any


def template_row(template: MessageTemplate, subject: str) -> TemplateRow:
    return TemplateRow(
        id=template.id,
        name=template.name,
        document_kind=template.document_kind.value,
        category=template_category(template).value,
        current_version=template.current_version,
        subject=subject,
        archived=template.archived,
        updated_at=template.updated_at,
    )


def version_row(version: TemplateVersion) -> VersionRow:
    return VersionRow(version.version, version.subject, list(version.variables), version.created_at)


def form_values(
    template: MessageTemplate | None, version: TemplateVersion | None
) -> dict[str, str]:
    if template is None or version is None:
        return {"name": "", "document_kind": "other", "subject": "", "html": "", "text": ""}
    return {
        "name": template.name,
        "document_kind": template.document_kind.value,
        "subject": version.subject,
        "html": version.html,
        "text": version.text,
    }


def _nested(target: dict[str, Any], key: str, value: str) -> bool:
    """client.name=ACME → {"client": {"name": "ACME"}}; False when it clashes with another."""
    *parents, last = key.split(".")
    for name in parents:
        child = target.setdefault(name, {})
        if not isinstance(child, dict):
            return False
        target = child
    if not last or isinstance(target.get(last), dict):
        return False
    target[last] = value
    return True


def _lines(text: str, translate: Translator) -> tuple[dict[str, Any], str | None]:
    found: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sign, value = line.partition("=")
        if not sign or not key.strip() or not _nested(found, key.strip(), value.strip()):
            return {}, translate("Line {n}: write name=value, e.g. client.name=Gamma.", n=number)
    return found, None


def parse_variables(text: str, translate: Translator) -> tuple[dict[str, Any], str | None]:
    """The variables box: a JSON object, or name=value lines (dots make nested values).
    Returns the variables, or an error to show instead."""
    if not text.strip().startswith("{"):
        return _lines(text, translate)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, translate("Not valid JSON (line {n}): {error}", n=exc.lineno, error=exc.msg)
    if not isinstance(value, dict):
        return {}, translate('Write a JSON object: {"name": "value"}.')
    return value, None


def render_error_text(exc: TemplateRenderError, translate: Translator) -> str:
    """The error in the visitor's language: where (part, line), then what."""
    if exc.reason == "bad_subject":
        return translate(BAD_SUBJECT)
    part = translate(PARTS.get(exc.part or "", exc.part or ""))
    if exc.line:
        where = translate("Line {line} of {part}", line=exc.line, part=part)
    else:
        where = part[:1].upper() + part[1:]
    template = _REASONS.get(exc.reason, _REASONS["render_failed"])
    variable = f"„{exc.variable}”" if exc.variable else ""
    return f"{where}: " + translate(template, variable=variable, detail=exc.detail)


def field_errors(exc: pydantic.ValidationError, translate: Translator) -> Errors:
    errors: Errors = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else FORM_LEVEL
        template = _FIELD_MESSAGES.get(error["type"])
        if template is None:
            return schema_errors(exc, translate)
        values = {k: v for k, v in (error.get("ctx") or {}).items() if k == "max_length"}
        errors.setdefault(field, []).append(translate(template, **values))
    return errors
