"""What a caller sends to create and steer a campaign (C2): its rows, questions and schedule."""

# Row contents (addresses, file ids, variables) are only shaped here; whether an address is
# valid, a file exists or a variable is missing is a row problem in the validation report
# (services/campaign_checks.py), never a refusal of the whole request.

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from postroom.enums import CampaignKind, QuestionKind

MAX_ROWS_PER_REQUEST = 50_000
MAX_QUESTIONS = 30
MAX_OPTIONS = 20
MAX_ATTACHMENTS_PER_ROW = 10

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
OptionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _with_zone(value: datetime | None) -> datetime | None:
    # A time without a zone would be read differently by the server and the person.
    if value is not None and value.tzinfo is None:
        raise ValueError("give the time with its zone, e.g. 2026-12-01T08:00:00+01:00")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecipientRow(_Strict):
    """One recipient: the address, a display name, the template's variables, attachments."""

    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=300)
    variables: dict[str, Any] = Field(
        default_factory=dict, description='Values for the template, e.g. {"amount": 1234.5}.'
    )
    attachment_file_ids: list[int] = Field(
        default_factory=list,
        max_length=MAX_ATTACHMENTS_PER_ROW,
        description="Stored files (POST /files) attached to this recipient's message.",
    )


class QuestionIn(_Strict):
    """A survey question: single or multiple choice among `options`, or free text."""

    kind: QuestionKind
    text: str = Field(min_length=1, max_length=1000)
    options: list[OptionText] = Field(default_factory=list, max_length=MAX_OPTIONS)
    required: bool = False

    @model_validator(mode="after")
    def _options_fit_the_kind(self) -> QuestionIn:
        if self.kind is QuestionKind.TEXT and self.options:
            raise ValueError("a text question has no options")
        if self.kind is not QuestionKind.TEXT and len(self.options) < 2:
            raise ValueError("a choice question needs at least two options")
        if len({o.casefold() for o in self.options}) != len(self.options):
            raise ValueError("the options of a question must differ")
        return self


class CampaignCreate(_Strict):
    """POST /campaigns: the template, the sender, the rows, the schedule."""

    name: Name
    template_id: int | None = Field(
        default=None, description="The template; its current version is recorded."
    )
    template_version_id: int | None = Field(
        default=None, description="Or one exact version of a template."
    )
    kind: CampaignKind = CampaignKind.DOCUMENTS
    account_id: int | None = Field(
        default=None, description="Send from this account; by default the rules of B1–B4 pick."
    )
    project_id: int | None = None
    scheduled_at: datetime | None = Field(
        default=None, description="When to start (with a time zone); by default at once."
    )
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The same key returns the same campaign, which is never sent twice.",
    )
    recipients: list[RecipientRow] = Field(default_factory=list, max_length=MAX_ROWS_PER_REQUEST)
    client_ids: list[int] = Field(
        default_factory=list,
        max_length=1000,
        description="Every contact person of these clients becomes a recipient.",
    )
    questions: list[QuestionIn] = Field(default_factory=list, max_length=MAX_QUESTIONS)
    start: bool = Field(
        default=False, description="Start (or schedule) at once when every row is valid."
    )
    send_valid_only: bool = Field(
        default=False, description="With `start`: start even if some rows are invalid."
    )

    @field_validator("scheduled_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _with_zone(value)


class StartRequest(_Strict):
    """POST /campaigns/{id}/start."""

    send_valid_only: bool = Field(
        default=False, description="Start although some rows are invalid: they are skipped."
    )
    scheduled_at: datetime | None = Field(
        default=None, description="Start at this time instead of at once."
    )

    @field_validator("scheduled_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _with_zone(value)


class CampaignUpdate(_Strict):
    """PATCH /campaigns/{id}, before it starts: what is given changes (null: the sending
    rules choose the sender / no project / start at once)."""

    name: Name | None = None
    account_id: int | None = None
    project_id: int | None = None
    scheduled_at: datetime | None = None

    @field_validator("scheduled_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _with_zone(value)
