"""Response bodies of messages, stored files and drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from postroom.db.models_outbox import Draft
from postroom.enums import (
    AttemptOutcome,
    DocumentKind,
    MessageStatus,
    RecipientKind,
    RecipientStatus,
    SentCopyStatus,
)
from postroom.services.campaign_outbox import is_held
from postroom.services.drafts import fields_of
from postroom.services.message_schemas import DraftWrite


class _FromRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MessageAccepted(_FromRow):
    """202: the message is committed to the outbox; the worker sends it."""

    id: int
    status: MessageStatus
    message_id: str  # the Message-ID header, without <>


class MessageBatchAccepted(BaseModel):
    """202: every message of the batch is committed to the outbox, in the order given."""

    items: list[MessageAccepted]


class RecipientPublic(_FromRow):
    address: str
    kind: RecipientKind
    status: RecipientStatus
    code: int | None  # the server's reply code to this recipient
    reply: str | None  # and its words
    updated_at: datetime


class AttemptPublic(_FromRow):
    started_at: datetime
    finished_at: datetime | None
    outcome: AttemptOutcome
    code: int | None
    reply: str | None


class MessageSummary(_FromRow):
    id: int
    message_id: str
    status: MessageStatus
    subject: str
    # The envelope sender (MAIL FROM), which is also the From address.
    sender: str = Field(validation_alias=AliasChoices("envelope_from", "sender"))
    account_id: int | None
    via_relay: bool
    project_id: int | None
    document_kind: DocumentKind
    created_by_user_id: int | None
    size: int
    attempt_count: int
    last_code: int | None
    last_reply: str | None
    next_attempt_at: datetime | None = Field(
        description="When it is tried next; null while held by a paused campaign."
    )
    held: bool = Field(
        default=False, description="Held by a paused campaign: it goes when that is resumed."
    )
    sent_at: datetime | None
    created_at: datetime

    @model_validator(mode="after")
    def _held(self) -> Self:
        if is_held(self):
            self.held, self.next_attempt_at = True, None
        return self


class MessagePublic(MessageSummary):
    from_own_template: bool
    idempotency_key: str | None
    deadline_at: datetime  # temporary failures are retried until then (C3)
    sent_copy_status: SentCopyStatus
    recipients: list[RecipientPublic]
    attempts: list[AttemptPublic]


class StoredFilePublic(_FromRow):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by_user_id: int | None
    created_at: datetime


class DraftPublic(DraftWrite):
    """The draft as last saved, with its id and times."""

    id: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, draft: Draft) -> DraftPublic:
        return cls(
            **fields_of(draft).model_dump(),
            id=draft.id,
            created_at=draft.created_at,
            updated_at=draft.updated_at,
        )
