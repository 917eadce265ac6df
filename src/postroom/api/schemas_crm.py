"""Bodies of contacts, clients, tasks, notifications and webhooks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from postroom.api.schemas import Page
from postroom.db.models_crm import WebhookEndpoint
from postroom.enums import Channel, CommunicationStatus, DocumentKind, TaskStatus, TaxPeriod
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


ZusDay = Annotated[
    int,
    Field(description="15 (budget units) or 20 (everyone else); null: pays no ZUS via the office."),
]
DocumentsDay = Annotated[
    int, Field(description="Day of the following month (1–28) documents are due at the office.")
]


class ClientChannelFields(_Strict):
    """F1–F3: how the client is reached and which deadlines apply to it. A new client has only
    in-app and Web Push on; SMS can be turned on only once the office has enabled SMS."""

    channel_email: bool = False
    channel_sms: bool = Field(
        default=False, description="Refused with sms_not_enabled while the office's SMS is off."
    )
    channel_inapp: bool = True
    channel_webpush: bool = True
    vat_period: TaxPeriod = TaxPeriod.MONTHLY
    income_tax_period: TaxPeriod = TaxPeriod.MONTHLY
    zus_day: ZusDay | None = 20
    documents_day: DocumentsDay | None = 5


class ClientCreate(ClientChannelFields):
    name: Name300
    domain: Domain | None = Field(default=None, description="Mail from this domain is theirs.")
    tax_id: TaxId | None = None


class ClientUpdate(_Patch):
    not_null: ClassVar[frozenset[str]] = frozenset(
        {
            "name",
            "channel_email",
            "channel_sms",
            "channel_inapp",
            "channel_webpush",
            "vat_period",
            "income_tax_period",
        }
    )

    name: Name300 | None = None
    domain: Domain | None = None
    tax_id: TaxId | None = None
    channel_email: bool | None = None
    channel_sms: bool | None = None
    channel_inapp: bool | None = None
    channel_webpush: bool | None = None
    vat_period: TaxPeriod | None = None
    income_tax_period: TaxPeriod | None = None
    zus_day: ZusDay | None = None
    documents_day: DocumentsDay | None = None


class ClientPublic(_FromRow):
    id: int
    name: str
    domain: str | None
    tax_id: str | None
    created_from_mail_id: int | None
    created_at: datetime
    channel_email: bool
    channel_sms: bool
    channel_inapp: bool
    channel_webpush: bool
    vat_period: TaxPeriod
    income_tax_period: TaxPeriod
    zus_day: int | None
    documents_day: int | None


class ClientChannelsBatch(_Strict):
    """PATCH /clients/channels: one channel on or off for many clients (the list's bulk edit);
    all of them or, when one id is unknown or SMS is refused, none."""

    client_ids: list[int] = Field(min_length=1, max_length=1000)
    channel: Channel
    enabled: bool


class ClientChannelsBatchResult(BaseModel):
    items: list[ClientPublic]


# Client messages (F1)


class ClientNotifyRequest(_Strict):
    """POST /clients/{id}/notify: one message over every channel enabled for the client."""

    subject: Title
    text: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    sms_text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = (
        Field(default=None, description="The SMS version; by default a shortened text.")
    )
    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = Field(
        default=None, description="A link for the notification and push (added to e-mail)."
    )
    attachment_file_ids: list[int] = Field(
        default_factory=list, max_length=50, description="Stored files (POST /files), e-mail."
    )
    document_kind: DocumentKind = DocumentKind.OTHER


class ChannelOutcomePublic(BaseModel):
    channel: Channel
    status: CommunicationStatus
    detail: str | None = Field(description="Why skipped or failed, in a sentence.")
    communication_id: int = Field(description="Its row in the client's history.")
    recipients: list[str]


class ClientNotifyResult(BaseModel):
    batch_key: str = Field(description="Common to the history rows of this message.")
    outcomes: list[ChannelOutcomePublic] = Field(
        description="One per channel enabled for the client; channels that are off are absent."
    )


class CommunicationPublic(_FromRow):
    id: int
    client_id: int
    channel: Channel
    status: CommunicationStatus
    source: str = Field(description="notify, reminder, invoice_notice")
    batch_key: str
    subject: str
    body_preview: str
    detail: str | None
    recipients: list[str]
    outbox_message_id: int | None
    created_by_user_id: int | None
    created_at: datetime
    updated_at: datetime


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
    kind: str = Field(description="new_mail, client_message, …")
    contact_id: int | None = Field(description="The client's contact person it is for, if any.")
    account_id: int | None
    title: str
    body: str
    count: int = Field(description="e.g. how many new messages one fetch brought")
    link: str | None
    data: dict[str, Any] | None = Field(
        description="new_mail: account_id and message_ids; client_message: client_id and "
        "communication_id"
    )
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Page[NotificationPublic]):
    unread: int = Field(
        description="Unread notifications of the feed (the caller's or the contact's), "
        "whatever the filter."
    )


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
