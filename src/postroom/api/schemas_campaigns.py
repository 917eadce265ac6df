"""Response bodies of campaigns: the campaign, its validation report, progress, rows, survey."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from postroom.enums import CampaignKind, CampaignRecipientStatus, CampaignStatus, QuestionKind
from postroom.services.campaign_progress import Progress, RecipientLine
from postroom.services.campaign_schemas import RecipientRow
from postroom.services.campaign_store import ValidationReport
from postroom.services.surveys import QuestionResult


class _FromRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RowProblemPublic(BaseModel):
    field: str  # email, attachments, variables.<name>, template, sender
    code: str
    message: str
    line: int | None = Field(default=None, description="The template's line, for a variable.")


class ReportRowPublic(BaseModel):
    row_number: int
    email: str
    status: CampaignRecipientStatus
    problems: list[RowProblemPublic]


class ReportPublic(BaseModel):
    """Checked before anything is sent: rows that can go, and why the others cannot."""

    rows: int
    valid: int
    invalid: int
    opted_out: int
    problems: list[ReportRowPublic] = Field(
        description="The first 100 rows with problems; page them all with "
        "GET /campaigns/{id}/recipients?problems=true."
    )

    @classmethod
    def of(cls, report: ValidationReport) -> ReportPublic:
        return cls(
            rows=report.rows,
            valid=report.valid,
            invalid=report.invalid,
            opted_out=report.opted_out,
            problems=[
                ReportRowPublic(
                    row_number=r.row_number,
                    email=r.email,
                    status=r.status,
                    problems=[RowProblemPublic(**p) for p in r.problems],
                )
                for r in report.problems
            ],
        )


class ProgressPublic(BaseModel):
    counts: dict[str, int] = Field(
        description="Rows per status: pending, queued, sent, failed, bounced, opted_out, "
        "invalid, cancelled."
    )
    total: int
    remaining: int
    rate_per_minute: float
    eta_seconds: int | None

    @classmethod
    def of(cls, progress: Progress) -> ProgressPublic:
        data: dict[str, Any] = progress.as_dict()
        data.pop("status")
        return cls(**data)


class CampaignSummary(_FromRow):
    id: int
    name: str
    kind: CampaignKind
    status: CampaignStatus
    template_version_id: int
    account_id: int | None
    project_id: int | None
    scheduled_at: datetime | None
    created_by_user_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class CampaignPublic(CampaignSummary):
    progress: ProgressPublic
    report: ReportPublic


class ControlResult(BaseModel):
    campaign: CampaignPublic
    affected: int = Field(
        description="pause: messages held; resume: messages given back; cancel: rows cancelled."
    )


class RecipientsAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipients: list[RecipientRow] = Field(max_length=50_000)


class CampaignRecipientPublic(BaseModel):
    id: int
    row_number: int
    email: str
    name: str
    variables: dict[str, Any]
    attachment_file_ids: list[int]
    status: str  # a CampaignRecipientStatus value, a queued row's taken from its message
    problems: list[RowProblemPublic]
    outbox_message_id: int | None
    last_reply: str | None = Field(description="The server's last words about its message.")

    @classmethod
    def of(cls, line: RecipientLine) -> CampaignRecipientPublic:
        row = line.recipient
        return cls(
            id=row.id,
            row_number=row.row_number,
            email=row.email,
            name=row.name,
            variables=row.variables,
            attachment_file_ids=row.attachment_file_ids,
            status=line.status,
            problems=[RowProblemPublic(**p) for p in row.problems or []],
            outbox_message_id=row.outbox_message_id,
            last_reply=line.last_reply,
        )


class QuestionResultPublic(BaseModel):
    id: int
    position: int
    kind: QuestionKind
    text: str
    options: list[str]
    required: bool
    answered: int
    counts: dict[str, int]
    texts: list[str]

    @classmethod
    def of(cls, result: QuestionResult) -> QuestionResultPublic:
        q = result.question
        return cls(
            id=q.id,
            position=q.position,
            kind=q.kind,
            text=q.text,
            options=q.options,
            required=q.required,
            answered=result.answered,
            counts=result.counts,
            texts=result.texts,
        )


class SurveyResultsPublic(BaseModel):
    respondents: int
    questions: list[QuestionResultPublic]
