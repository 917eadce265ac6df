"""What every step of the campaign wizard shares: the draft's context, its guard, the words
for refusals and errors of the services in the visitor's language."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from starlette.datastructures import FormData

from postroom.enums import CampaignStatus
from postroom.errors import SendingRefusedError, ValidationError
from postroom.services import campaign_templates, campaigns, relay
from postroom.services.campaign_store import validation_report
from postroom.services.companies import get_company
from postroom.services.runtime import Runtime
from postroom.web.auth import Visitor, tenant_work
from postroom.web.campaign_view import (
    CAMPAIGN_KINDS,
    ROW_STATUSES,
    TONES,
    WIZARD_STEPS,
    problem_rows,
)
from postroom.web.compose_view import refusal_notice
from postroom.web.i18n import N_, Translator
from postroom.web.rendering import redirect

WIZARD_MESSAGES = {
    "name": N_("Give the campaign a name."),
    "template_id": N_("Choose a template."),
    "file": N_("Upload a file or paste rows."),
    "scheduled_at": N_("Give the date and time to start."),
    "too_large": N_("The file is larger than an upload may be; split the list into several files."),
}
# The services' refusals of rows and starts, by code, in the visitor's language.
SERVICE_PROBLEMS = {
    "no_email_column": N_(
        "The first row must name the columns, one of them “email”: the recipients' addresses."
    ),
    "empty": N_("The file is empty: the first row must name the columns."),
    "unsupported_file": N_("Upload a .csv or .xlsx file (save an old .xls file as .xlsx)."),
    "too_many_recipients": N_("A campaign may have at most {limit} recipients."),
    "rows_have_problems": N_(
        "Some rows have problems: correct them, or tick “send to the valid rows only”."
    ),
    "no_valid_rows": N_("The campaign has no row that can be sent."),
}


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def service_errors(exc: ValidationError, translate: Translator, limit: int) -> list[str]:
    """A refusal's messages in the visitor's language (as the service said them, when the page
    has no words of its own for one)."""
    found = []
    for item in exc.problems or []:
        template = SERVICE_PROBLEMS.get(item.code)
        found.append(translate(template, limit=limit) if template else item.message)
    return found or [exc.message]


def step_context(step: str, campaign_id: int | None = None) -> dict[str, Any]:
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


def refusal_text(runtime: Runtime, visitor: Visitor, exc: SendingRefusedError) -> str:
    """A sending rule's refusal in the visitor's language, with the relay's limit in it."""
    with tenant_work(runtime, visitor) as (session, actor):
        limit = relay.document_limit(get_company(session, actor.company_id), runtime.settings)
    return refusal_notice(exc, Translator(visitor.language), limit).text


def draft_context(
    runtime: Runtime, visitor: Visitor, campaign_id: int, step: str
) -> dict[str, Any]:
    translate = Translator(visitor.language)
    with tenant_work(runtime, visitor) as (session, actor):
        campaign = campaigns.get_campaign(session, actor=actor, campaign_id=campaign_id)
        template, version = campaign_templates.template_of(session, campaign)
        report = validation_report(session, campaign.id)
    problems = problem_rows(
        [(r.row_number, r.email, r.status.value, r.problems) for r in report.problems], translate
    )
    return {
        **step_context(step, campaign_id),
        "campaign": campaign,
        "report": report,
        "problems": problems,
        "template_name": template.name,
        "template_version": version.version,
        "variables": version.variables,
        "is_draft": campaign.status is CampaignStatus.DRAFT,
    }


def not_draft(context: dict[str, Any]) -> Response | None:
    return None if context["is_draft"] else redirect(f"/campaigns/{context['campaign_id']}")
