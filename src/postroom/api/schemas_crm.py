"""Bodies of contacts, clients, tasks, notifications and webhooks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from postroom.api.schemas import Page
from postroom.db.models_crm import WebhookEndpoint
from postroom.enums import TaskStatus
from postroom.services.webhooks import WebhookEvent

# One line of text: no control characters (they have no place in a name, and CR/LF would
# break every export and header these values end up in).
_LINE = r"^[^\x00-\x1f\x7f]*$"
Line300 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300, pattern=_LINE)]
Name300 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=_LINE)
]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=50, pattern=r"^[0-9+()./ \-]*$")
]
Domain = Annotated[str, StringConstraints(strip_whitespace=True, max_length=253, pattern=_LINE)]
TaxId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50, pattern=_LINE)]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=_LINE)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Patch(_Strict):
    """Fields left out keep their value; `null` clears an optional one. Fields that cannot be
    empty refuse `null` (`not_null`)."""

    not_null: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: Any) -> Any:
        if value is None and info.field_name in cls.not_null:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value


class _FromRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Contacts and clients


class ContactCreate(_Strict):
    email: Email
    name: Line300 = ""
    phone: Phone | None = None
    client_id: int | None = None


class ContactUpdate(_Patch):
    not_null: ClassVar[frozenset[str]] = frozenset({"email", "name"})

    email: Email | None = None
    name: Line300 | None = None
    phone: Phone | None = None
    client_id: int | None = None


class ContactPublic(_FromRow):
    id: int
    email: str
    name: str
    phone: str | None
    client_id: int | None
    created_from_mail_id: int | None = Field(description="The message that made it, if any.")
    created_at: datetime


class ClientCreate(_Strict):
    name: Name300
    domain: Domain | None = Field(default=None, description="Mail from this domain is theirs.")
    tax_id: TaxId | None = None


class ClientUpdate(_Patch):
    not_null: ClassVar[frozenset[str]] = frozenset({"name"})

    name: Name300 | None = None
    domain: Domain | None = None
    tax_id: TaxId | None = None


class ClientPublic(_FromRow):
    id: int
    name: str
    domain: str | None
    tax_id: str | None
    created_from_mail_id: int | None
    created_at: datetime


# Tasks


class TaskUpdate(_Patch):
    not_null: ClassVar[frozenset[str]] = frozenset({"status", "title", "description"})

    status: TaskStatus | None = None
    assignee_user_id: int | None = None
    title: Title | None = None
    description: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    due_date: date | None = None


class TaskPublic(_FromRow):
    id: int
    title: str
    description: str
    status: TaskStatus
    account_id: int | None
    mail_message_id: int | None = Field(description="The message it was made from.")
    contact_id: int | None
    assignee_user_id: int | None
    due_date: date | None
    created_at: datetime
    completed_at: datetime | None


# Notifications


class NotificationPublic(_FromRow):
    id: int
    kind: str = Field(description="new_mail, …")
    account_id: int | None
    title: str
    body: str
    count: int = Field(description="e.g. how many new messages one fetch brought")
    link: str | None
    data: dict[str, Any] | None = Field(description="new_mail: account_id and message_ids")
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Page[NotificationPublic]):
    unread: int = Field(description="The caller's unread notifications, whatever the filter.")


class ReadAllResult(BaseModel):
    marked: int


# Webhooks


class WebhookCreate(_Strict):
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    events: list[WebhookEvent] = Field(
        default_factory=list, description="Events to send; empty: every event."
    )


class WebhookPublic(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    deliveries: dict[str, int] = Field(
        default_factory=dict, description="Deliveries by status: pending, running, done, failed."
    )

    @classmethod
    def of(cls, endpoint: WebhookEndpoint, deliveries: dict[str, int] | None = None) -> Self:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            events=list(endpoint.events),
            active=endpoint.active,
            created_at=endpoint.created_at,
            deliveries=deliveries or {},
        )


class WebhookCreated(WebhookPublic):
    secret: str = Field(
        description="The signing key, shown this once: verify X-Postroom-Signature with it."
    )
