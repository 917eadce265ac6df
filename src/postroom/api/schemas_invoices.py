"""Bodies of invoices, their notices, and the office's dunning ladder."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictStr, field_serializer

from postroom.enums import InvoiceStatus, NoticeStatus


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InvoiceCreate(_Strict):
    number: Annotated[StrictStr, Field(max_length=200, description="As printed on the invoice.")]
    client_id: int
    amount: Annotated[
        StrictStr,
        Field(
            max_length=40,
            description='A decimal string with a dot and at most two decimals, e.g. "1234.50" '
            "(a string, so no precision is lost on the way).",
        ),
    ]
    currency: Annotated[StrictStr, Field(max_length=10, description="ISO 4217, e.g. PLN, EUR.")] = (
        "PLN"
    )
    issue_date: date | None = None
    due_date: date
    file_id: int | None = Field(
        default=None, description="The invoice PDF, uploaded with POST /files; attached to notices."
    )


class InvoicePaid(_Strict):
    paid_at: AwareDatetime | None = Field(
        default=None, description="When it was paid (with its time zone); by default now."
    )


class NoticePublic(BaseModel):
    id: int
    level: int
    level_name: str | None = Field(description="null: the level is no longer in the ladder.")
    send_on: date
    status: NoticeStatus
    detail: str | None = Field(description="Why it was cancelled or failed, in a sentence.")
    sent_at: datetime | None
    batch_key: str | None = Field(
        description="Its rows in the client's communication history share this key."
    )


class InvoicePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    client_id: int
    amount: Decimal
    currency: str
    issue_date: date | None
    due_date: date
    file_id: int | None
    status: InvoiceStatus
    paid_at: datetime | None
    created_at: datetime

    @field_serializer("amount")
    def _amount_text(self, amount: Decimal) -> str:
        return f"{amount.quantize(Decimal('0.01')):f}"


class InvoiceDetailPublic(InvoicePublic):
    notices: list[NoticePublic]


class DunningLevelIn(_Strict):
    position: int = Field(description="1, 2, 3… in the order given.")
    offset_days: int = Field(
        description="Days from the due date: -3 three days before, 7 a week after; each level "
        "later than the one before."
    )
    name: StrictStr = Field(max_length=200)
    subject: StrictStr = Field(default="", description="A template (Jinja) over the variables.")
    body: StrictStr = Field(default="", description="The plain text, a template as well.")
    template_id: int | None = Field(
        default=None, description="A company template instead of subject and body."
    )


class DunningLadderIn(_Strict):
    levels: list[DunningLevelIn] = Field(max_length=50)


class DunningLevelPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    offset_days: int
    name: str
    subject: str
    body: str
    template_id: int | None


class DunningLadderPublic(BaseModel):
    levels: list[DunningLevelPublic]
    is_default: bool = Field(description="true: the office has not set its own ladder.")
    variables: list[str] = Field(description="What the subject and body may use.")
