"""Campaigns (C2): create with rows, add rows (JSON or a CSV/XLSX file), progress, rows,
start/pause/resume/cancel, a live stream of progress, survey results."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from postroom.api.deps import Caller, CallerDep, Limit, Offset
from postroom.api.schemas import Page
from postroom.api.schemas_campaigns import (
    CampaignPublic,
    CampaignRecipientPublic,
    CampaignSummary,
    ControlResult,
    ProgressPublic,
    QuestionResultPublic,
    RecipientsAdd,
    ReportPublic,
    SurveyResultsPublic,
)
from postroom.db.base import utcnow
from postroom.db.models_campaigns import Campaign
from postroom.enums import CampaignRecipientStatus, CampaignStatus
from postroom.errors import ValidationError
from postroom.services import (
    campaign_control,
    campaign_drafts,
    campaign_recipients,
    campaigns,
    surveys,
)
from postroom.services.campaign_progress import campaign_progress, list_recipients
from postroom.services.campaign_schemas import CampaignCreate, CampaignUpdate, StartRequest
from postroom.services.campaign_store import validation_report

router = APIRouter(tags=["campaigns"])

EVENT_SECONDS = 1.0  # how often the event stream looks at the campaign
HEARTBEAT_EVENTS = 15  # a comment line this often keeps proxies from closing a quiet stream


def _public(session: Session, campaign: Campaign) -> CampaignPublic:
    progress = campaign_progress(session, campaign, utcnow())
    return CampaignPublic.model_validate(
        {
            **CampaignSummary.model_validate(campaign).model_dump(),
            "progress": ProgressPublic.of(progress),
            "report": ReportPublic.of(validation_report(session, campaign.id)),
        }
    )


@router.post(
    "/campaigns",
    status_code=status.HTTP_201_CREATED,
    response_model=CampaignPublic,
    responses={
        200: {"description": "The idempotency key named a campaign made earlier: that one."},
        403: {"description": "A sending rule refuses every row; `code` says which (B5, B6)."},
        422: {"description": "`errors[].field` names each field at fault."},
    },
)
def create_campaign(
    body: CampaignCreate,
    caller: CallerDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> CampaignPublic:
    """A campaign (a draft) with its rows checked; `report` lists the rows that cannot be sent
    and why. With `start`, it starts when every row is valid (or with `send_valid_only`)."""
    with caller.begin() as tx:
        created = campaigns.create_campaign(
            tx.session,
            actor=tx.actor,
            request=body,
            runtime=caller.runtime,
            idempotency_key=idempotency_key,
        )
        if created.replayed:
            response.status_code = status.HTTP_200_OK
        return _public(tx.session, created.campaign)


@router.get("/campaigns", response_model=Page[CampaignSummary])
def list_campaigns(
    caller: CallerDep,
    status_filter: Annotated[CampaignStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CampaignSummary]:
    """The caller's campaigns (administrators: the company's), newest first."""
    with caller.begin() as tx:
        rows, total = campaigns.list_campaigns(
            tx.session, actor=tx.actor, status=status_filter, limit=limit, offset=offset
        )
        items = [CampaignSummary.model_validate(row) for row in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/campaigns/{campaign_id}", response_model=CampaignPublic)
def get_campaign(campaign_id: int, caller: CallerDep) -> CampaignPublic:
    """The campaign with its progress (counts, rate, estimated time left) and its report."""
    with caller.begin() as tx:
        campaign = campaigns.get_campaign(tx.session, actor=tx.actor, campaign_id=campaign_id)
        return _public(tx.session, campaign)


@router.patch("/campaigns/{campaign_id}", response_model=CampaignPublic)
def update_campaign(campaign_id: int, body: CampaignUpdate, caller: CallerDep) -> CampaignPublic:
    """Before it starts: its name, sender (checked against the sending rules), project and
    scheduled time."""
    given = {name: getattr(body, name) for name in body.model_fields_set}
    with caller.begin() as tx:
        campaign = campaigns.get_campaign(tx.session, actor=tx.actor, campaign_id=campaign_id)
        campaign_drafts.update_draft(
            tx.session, actor=tx.actor, campaign=campaign, runtime=caller.runtime, **given
        )
        return _public(tx.session, campaign)


@router.get("/campaigns/{campaign_id}/recipients", response_model=Page[CampaignRecipientPublic])
def get_recipients(
    campaign_id: int,
    caller: CallerDep,
    status_filter: Annotated[CampaignRecipientStatus | None, Query(alias="status")] = None,
    problems: Annotated[bool, Query(description="Only rows that have problems.")] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CampaignRecipientPublic]:
    """The rows in row order, each with its status and problems."""
    with caller.begin() as tx:
        campaign = campaigns.get_campaign(tx.session, actor=tx.actor, campaign_id=campaign_id)
        lines, total = list_recipients(
            tx.session,
            campaign.id,
            status=status_filter,
            with_problems=problems,
            limit=limit,
            offset=offset,
        )
        items = [CampaignRecipientPublic.of(line) for line in lines]
        return Page(items=items, total=total, limit=limit, offset=offset)


@router.post("/campaigns/{campaign_id}/recipients", response_model=ReportPublic)
def add_recipients(campaign_id: int, body: RecipientsAdd, caller: CallerDep) -> ReportPublic:
    """More rows for a draft, numbered after those already there; the whole report again."""
    with caller.begin() as tx:
        _, report = campaign_recipients.add_api_rows(
            tx.session,
            actor=tx.actor,
            campaign_id=campaign_id,
            rows=body.recipients,
            runtime=caller.runtime,
        )
        return ReportPublic.of(report)


def _visible(caller: Caller, campaign_id: int) -> None:
    with caller.begin() as tx:
        campaigns.get_campaign(tx.session, actor=tx.actor, campaign_id=campaign_id)


def _add_file(caller: Caller, campaign_id: int, upload: UploadFile) -> ReportPublic:
    with caller.begin() as tx:
        _, report = campaign_recipients.add_file_rows(
            tx.session,
            actor=tx.actor,
            campaign_id=campaign_id,
            filename=upload.filename or "",
            content_type=upload.content_type,
            stream=upload.file,
            runtime=caller.runtime,
        )
        return ReportPublic.of(report)


_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "/campaigns/{campaign_id}/recipients/upload",
    response_model=ReportPublic,
    openapi_extra=_UPLOAD_DOC,
)
async def upload_recipients(campaign_id: int, request: Request, caller: CallerDep) -> ReportPublic:
    """A CSV or XLSX file (multipart `file`): the first row names the columns: "email", and
    optionally "name", "attachments" (file ids) and one column per template variable. The
    campaign is looked up before the file is read."""
    await run_in_threadpool(_visible, caller, campaign_id)
    limit = caller.runtime.settings.campaign_upload_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ValidationError.for_field(
            "file", f"The file is larger than {limit} bytes; split the list.", "too_large"
        )
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "multipart/form-data":
        raise ValidationError.for_field(
            "file", "Send the file as multipart/form-data in a `file` part.", "required"
        )
    async with request.form(max_files=1, max_fields=10, max_part_size=limit) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationError.for_field("file", "The `file` part is missing.", "required")
        return await run_in_threadpool(_add_file, caller, campaign_id, upload)


@router.post("/campaigns/{campaign_id}/start", response_model=CampaignPublic)
def start_campaign(
    campaign_id: int, caller: CallerDep, body: StartRequest | None = None
) -> CampaignPublic:
    """Start now (or at `scheduled_at`). Rows with problems hold it back unless
    `send_valid_only` is true; starting a started campaign changes nothing."""
    request = body or StartRequest()
    with caller.begin() as tx:
        campaign = campaigns.get_campaign(tx.session, actor=tx.actor, campaign_id=campaign_id)
        campaign_control.start_campaign(
            tx.session,
            actor=tx.actor,
            campaign=campaign,
            send_valid_only=request.send_valid_only,
            scheduled_at=request.scheduled_at,
        )
        return _public(tx.session, campaign)


@router.post("/campaigns/{campaign_id}/pause", response_model=ControlResult)
def pause_campaign(campaign_id: int, caller: CallerDep) -> ControlResult:
    """Stop queuing; messages queued but not yet taken by a worker are held too."""
    with caller.begin() as tx:
        campaign = campaigns.get_campaign(tx.session, actor=tx.actor, campaign_id=campaign_id)
        held = campaign_control.pause_campaign(tx.session, campaign=campaign)
        return ControlResult(campaign=_public(tx.session, campaign), affected=held)


@router.post("/campaigns/{campaign_id}/resume", response_model=ControlResult)
def resume_campaign(campaign_id: int, caller: CallerDep) -> ControlResult:
    with caller.begin() as tx:
        campaign = campaigns.get_campaign(tx.session, actor=tx.actor, campaign_id=campaign_id)
        released = campaign_control.resume_campaign(
            tx.session, campaign=campaign, settings=caller.runtime.settings
        )
        return ControlResult(campaign=_public(tx.session, campaign), affected=released)


@router.post("/campaigns/{campaign_id}/cancel", response_model=ControlResult)
def cancel_campaign(campaign_id: int, caller: CallerDep) -> ControlResult:
    """Stop for good: pending rows and messages not yet taken by a worker are cancelled."""
    with caller.begin() as tx:
        campaign = campaigns.get_campaign(tx.session, actor=tx.actor, campaign_id=campaign_id)
        cancelled = campaign_control.cancel_campaign(tx.session, campaign=campaign)
        return ControlResult(campaign=_public(tx.session, campaign), affected=cancelled)


def _progress_event(caller: Caller, campaign_id: int) -> tuple[str, bool]:
    """One event's data, and whether the campaign can still change."""
    with caller.begin() as tx:
        campaign = campaigns.get_campaign(tx.session, actor=tx.actor, campaign_id=campaign_id)
        progress = campaign_progress(tx.session, campaign, utcnow())
    open_ = progress.status not in campaign_control.FINAL or progress.counts["queued"] > 0
    return json.dumps(progress.as_dict(), separators=(",", ":")), open_


async def _events(request: Request, caller: Caller, campaign_id: int) -> AsyncIterator[str]:
    last, quiet = "", 0
    while True:
        data, still_open = await run_in_threadpool(_progress_event, caller, campaign_id)
        if data != last:
            yield f"event: progress\ndata: {data}\n\n"
            last, quiet = data, 0
        elif (quiet := quiet + 1) >= HEARTBEAT_EVENTS:
            yield ": keep-alive\n\n"
            quiet = 0
        if not still_open:
            yield "event: end\ndata: {}\n\n"
            return
        await asyncio.sleep(EVENT_SECONDS)
        if await request.is_disconnected():
            return


@router.get(
    "/campaigns/{campaign_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Progress events."}},
)
async def campaign_events(
    campaign_id: int, request: Request, caller: CallerDep
) -> StreamingResponse:
    """Server-sent events: `progress` (the progress object) whenever it changes, and `end`
    once the campaign is completed or cancelled and nothing is on its way."""
    await run_in_threadpool(_progress_event, caller, campaign_id)  # 401/404 before streaming
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _events(request, caller, campaign_id), media_type="text/event-stream", headers=headers
    )


@router.get("/campaigns/{campaign_id}/survey", response_model=SurveyResultsPublic)
def survey_results(campaign_id: int, caller: CallerDep) -> SurveyResultsPublic:
    """Per question: how many answered, the count of each option, the text answers."""
    with caller.begin() as tx:
        campaign = campaigns.get_campaign(tx.session, actor=tx.actor, campaign_id=campaign_id)
        results = surveys.results(tx.session, campaign.id)
        return SurveyResultsPublic(
            respondents=surveys.respondents(tx.session, campaign.id),
            questions=[QuestionResultPublic.of(r) for r in results],
        )


def _csv_lines(caller: Caller, campaign_id: int) -> Iterator[str]:
    """The export a batch of respondents per transaction: never the whole survey in memory."""
    with caller.begin() as tx:
        campaign = campaigns.get_campaign(tx.session, actor=tx.actor, campaign_id=campaign_id)
        questions = surveys.questions_of(tx.session, campaign.id)
        tx.session.expunge_all()
    yield "\ufeff" + surveys.csv_header(questions)  # the BOM makes Excel read it as UTF-8
    after: int | None = 0
    while after is not None:
        with caller.begin() as tx:
            text, after = surveys.csv_batch(tx.session, campaign_id, questions, after_row=after)
        yield text


@router.get(
    "/campaigns/{campaign_id}/survey.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "One line per respondent."}},
)
def survey_csv(campaign_id: int, caller: CallerDep) -> StreamingResponse:
    lines = _csv_lines(caller, campaign_id)
    first = next(lines)  # authenticates and finds the campaign before the 200 is sent
    headers = {"Content-Disposition": f'attachment; filename="survey-{campaign_id}.csv"'}

    def rest() -> Iterator[str]:
        yield first
        yield from lines

    return StreamingResponse(rest(), media_type="text/csv; charset=utf-8", headers=headers)
