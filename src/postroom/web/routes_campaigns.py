"""Campaign pages: the list, each campaign's live progress with pause/resume/cancel, its rows,
and survey results with the CSV export (C2)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from postroom.db.base import utcnow
from postroom.enums import CampaignKind, CampaignStatus
from postroom.errors import ConflictError
from postroom.services import campaign_control, campaign_templates, campaigns, surveys
from postroom.services.campaign_progress import campaign_progress, list_recipients
from postroom.services.runtime import Runtime
from postroom.web.auth import CheckedForm, RuntimeDep, Visitor, VisitorDep, tenant_work
from postroom.web.campaign_view import (
    CAMPAIGN_KINDS,
    CAMPAIGN_STATUSES,
    ROW_STATUSES,
    TONES,
    problem_text,
    progress_view,
)
from postroom.web.i18n import N_, Translator
from postroom.web.rendering import redirect, render

router = APIRouter()

PAGE_SIZE = 25
ROWS_PAGE_SIZE = 50
REFRESH_SECONDS = 2  # the progress block asks for itself this often while sending
PROGRESS_TARGET = "campaign-progress"
_LABELS = {
    "statuses": CAMPAIGN_STATUSES,
    "kinds": CAMPAIGN_KINDS,
    "row_statuses": ROW_STATUSES,
    "tones": TONES,
    "refresh_seconds": REFRESH_SECONDS,
}
CONTROL_REFUSED = N_("This cannot be done in the campaign's present state; the page shows it now.")


@router.get("/campaigns", response_model=None)
def campaigns_page(
    request: Request, visitor: VisitorDep, runtime: RuntimeDep, page: int = 1
) -> Response:
    page = max(page, 1)
    now = utcnow()
    with tenant_work(runtime, visitor) as (session, actor):
        rows, total = campaigns.list_campaigns(
            session, actor=actor, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        items = [(row, progress_view(campaign_progress(session, row, now))) for row in rows]
    context = {
        **_LABELS,
        "items": items,
        "total": total,
        "page": page,
        "has_next": page * PAGE_SIZE < total,
    }
    return render(request, "campaigns.html", context)


def _campaign_context(
    runtime: Runtime, visitor: Visitor, campaign_id: int, page: int
) -> dict[str, object]:
    with tenant_work(runtime, visitor) as (session, actor):
        campaign = campaigns.get_campaign(session, actor=actor, campaign_id=campaign_id)
        template, version = campaign_templates.template_of(session, campaign)
        progress = progress_view(campaign_progress(session, campaign, utcnow()))
        lines, total = list_recipients(
            session, campaign.id, limit=ROWS_PAGE_SIZE, offset=(page - 1) * ROWS_PAGE_SIZE
        )
    translate = Translator(visitor.language)
    texts = {
        line.recipient.id: [
            problem_text(p, line.recipient.email, translate) for p in line.recipient.problems or []
        ]
        for line in lines
    }
    return {
        **_LABELS,
        "campaign": campaign,
        "problem_texts": texts,
        "template_name": template.name,
        "template_version": version.version,
        "progress": progress,
        "lines": lines,
        "rows_total": total,
        "page": page,
        "has_next": page * ROWS_PAGE_SIZE < total,
        "is_survey": campaign.kind is CampaignKind.SURVEY,
        "can_pause": campaign.status in campaign_control.ACTIVE,
        "can_resume": campaign.status is CampaignStatus.PAUSED,
        "can_cancel": campaign.status not in campaign_control.FINAL,
        "is_draft": campaign.status is CampaignStatus.DRAFT,
    }


@router.get("/campaigns/{campaign_id}", response_model=None)
def campaign_page(
    request: Request, campaign_id: int, visitor: VisitorDep, runtime: RuntimeDep, page: int = 1
) -> Response:
    """Progress (refreshed while sending), the controls, and the rows with their status."""
    context = _campaign_context(runtime, visitor, campaign_id, max(page, 1))
    partial = (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Target") == PROGRESS_TARGET
    )
    template = "campaign_progress.html" if partial else "campaign.html"
    response = render(request, template, {**context, "refused": False})
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


def _control(
    request: Request, runtime: Runtime, visitor: Visitor, campaign_id: int, action: str
) -> Response:
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            campaign = campaigns.get_campaign(session, actor=actor, campaign_id=campaign_id)
            if action == "pause":
                campaign_control.pause_campaign(session, campaign=campaign)
            elif action == "resume":
                campaign_control.resume_campaign(
                    session, campaign=campaign, settings=runtime.settings
                )
            else:
                campaign_control.cancel_campaign(session, campaign=campaign)
    except ConflictError:
        context = _campaign_context(runtime, visitor, campaign_id, 1)
        return render(request, "campaign.html", {**context, "refused": True}, status_code=409)
    return redirect(f"/campaigns/{campaign_id}")


@router.post("/campaigns/{campaign_id}/pause", response_model=None)
def pause(
    request: Request,
    campaign_id: int,
    visitor: VisitorDep,
    _form: CheckedForm,
    runtime: RuntimeDep,
) -> Response:
    return _control(request, runtime, visitor, campaign_id, "pause")


@router.post("/campaigns/{campaign_id}/resume", response_model=None)
def resume(
    request: Request,
    campaign_id: int,
    visitor: VisitorDep,
    _form: CheckedForm,
    runtime: RuntimeDep,
) -> Response:
    return _control(request, runtime, visitor, campaign_id, "resume")


@router.post("/campaigns/{campaign_id}/cancel", response_model=None)
def cancel(
    request: Request,
    campaign_id: int,
    visitor: VisitorDep,
    _form: CheckedForm,
    runtime: RuntimeDep,
) -> Response:
    return _control(request, runtime, visitor, campaign_id, "cancel")


@router.get("/campaigns/{campaign_id}/survey", response_model=None)
def survey_page(
    request: Request, campaign_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    with tenant_work(runtime, visitor) as (session, actor):
        campaign = campaigns.get_campaign(session, actor=actor, campaign_id=campaign_id)
        results = surveys.results(session, campaign.id)
        respondents = surveys.respondents(session, campaign.id)
    context = {
        **_LABELS,
        "campaign": campaign,
        "results": results,
        "respondents": respondents,
    }
    return render(request, "campaign_survey.html", context)


@router.get("/campaigns/{campaign_id}/survey.csv", response_model=None)
def survey_csv(campaign_id: int, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    with tenant_work(runtime, visitor) as (session, actor):
        campaign = campaigns.get_campaign(session, actor=actor, campaign_id=campaign_id)
        questions = surveys.questions_of(session, campaign.id)
        session.expunge_all()

    def lines() -> Iterator[str]:
        yield "\ufeff" + surveys.csv_header(questions)
        after: int | None = 0
        while after is not None:
            with tenant_work(runtime, visitor) as (session, _actor):
                text, after = surveys.csv_batch(session, campaign_id, questions, after_row=after)
            yield text

    headers = {
        "Content-Disposition": f'attachment; filename="survey-{campaign_id}.csv"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)
