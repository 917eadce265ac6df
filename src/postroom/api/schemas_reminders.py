"""Bodies of deadline reminders: office defaults, client overrides, host data, upcoming."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from postroom.enums import ReminderKind

DaysBefore = Annotated[int, Field(ge=0, le=31, description="Days before the deadline it goes out.")]
DayOfMonth = Annotated[
    int,
    Field(
        ge=1,
        le=28,
        description="Send on this day of the deadline's month (when not after the deadline).",
    ),
]
Document = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReminderSettingIn(_Strict):
    kind: ReminderKind
    enabled: bool = True
    days_before: DaysBefore = 3
    day_of_month: DayOfMonth | None = None


class ReminderSettingPublic(BaseModel):
    kind: ReminderKind
    enabled: bool
    days_before: int
    day_of_month: int | None


class OfficeRemindersUpdate(_Strict):
    settings: list[ReminderSettingIn] = Field(
        description="The kinds to change; kinds left out keep their setting."
    )


class OfficeRemindersPublic(BaseModel):
    settings: list[ReminderSettingPublic]


class ReminderOverrideIn(_Strict):
    """`null` inherits the office's value; every field null removes the override."""

    kind: ReminderKind
    enabled: bool | None = None
    days_before: DaysBefore | None = None
    day_of_month: DayOfMonth | None = None


class ReminderOverridePublic(BaseModel):
    enabled: bool | None
    days_before: int | None
    day_of_month: int | None


class ClientReminderPublic(BaseModel):
    kind: ReminderKind
    override: ReminderOverridePublic
    effective: ReminderSettingPublic


class ClientRemindersUpdate(_Strict):
    settings: list[ReminderOverrideIn] = Field(
        description="The kinds to change; kinds left out keep their override."
    )


class ClientRemindersPublic(BaseModel):
    client_id: int
    settings: list[ClientReminderPublic]


class ReminderDataIn(_Strict):
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] = "PLN"
    documents: list[Document] = Field(default_factory=list, max_length=50)
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class ReminderDataPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    client_id: int
    kind: ReminderKind
    period: str
    amount: Decimal | None
    currency: str
    documents: list[str]
    note: str
    updated_at: datetime
    deadline: date | None = Field(default=None, description="The period's deadline.")


class UpcomingItem(BaseModel):
    """One thing that goes out: a deadline reminder or an unpaid-invoice notice."""

    on: date = Field(description="The day it goes out.")
    type: Literal["reminder", "invoice_notice"]
    client_id: int
    client_name: str = ""
    kind: ReminderKind | None = Field(default=None, description="Reminders: what of.")
    period: str | None = None
    deadline: date | None = Field(default=None, description="Reminders: the deadline.")
    amount: Decimal | None = None
    currency: str | None = None
    documents: list[str] = Field(default_factory=list)
    invoice_id: int | None = Field(default=None, description="Invoice notices: the invoice.")
    invoice_number: str | None = None
    level: int | None = Field(default=None, description="Invoice notices: the dunning level.")
    level_name: str | None = None


class UpcomingPublic(BaseModel):
    start: date
    end: date
    items: list[UpcomingItem]
