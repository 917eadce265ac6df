"""What a caller sends to submit a message or save a draft (C1, C4, C5)."""

# Addresses, header texts and Message-IDs are plain strings here and checked by the message
# builder, so that a refusal names the field as the caller wrote it: `to[2]`, `reply_to`.

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from postroom.enums import DocumentKind


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecipientIn(_Strict):
    """An address with an optional display name; a bare string means just the address."""

    address: str
    name: str = ""


Recipient = Annotated[
    str | RecipientIn,
    Field(description='"anna@firma.pl", or {"address": "anna@firma.pl", "name": "Anna Nowak"}'),
]


class AttachmentRef(_Strict):
    """A stored file (POST /files) to attach; `filename` overrides its stored name."""

    file_id: int
    filename: str | None = None


class MessageFields(_Strict):
    """Everything a compose window holds; a draft may hold any of it, unchecked."""

    to: list[Recipient] = Field(default_factory=list)
    cc: list[Recipient] = Field(default_factory=list)
    bcc: list[Recipient] = Field(
        default_factory=list, description="Envelope only: never in a header."
    )
    subject: str = ""
    text: str | None = Field(default=None, description="The text body.")
    html: str | None = Field(
        default=None, description="The HTML body; without `text`, the text part is made from it."
    )
    attachments: list[AttachmentRef] = Field(default_factory=list)
    document_kind: DocumentKind = DocumentKind.OTHER
    from_own_template: bool = Field(
        default=False, description="Made from the company's own template (B5)."
    )
    reply_to: Recipient | None = Field(
        default=None, description="Overrides the account's Reply-To (A1, C5)."
    )
    in_reply_to: str | None = Field(
        default=None, description="The Message-ID this message answers (C5)."
    )
    references: list[str] = Field(
        default_factory=list,
        description="The thread's Message-IDs; by default taken from the answered message.",
    )


class MessageCreate(MessageFields):
    """POST /messages: the message, and who sends it."""

    project_id: int | None = None
    account_id: int | None = Field(
        default=None, description="Send from this account; by default the rules of B1–B4 pick."
    )
    use_relay: bool = Field(default=False, description="Send through the platform relay (B5).")
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The same key returns the same message (or the Idempotency-Key header).",
    )


class DraftWrite(MessageFields):
    """POST /drafts, PUT /drafts/{id}: the whole compose window, replaced on each save."""

    project_id: int | None = None
    account_id: int | None = None
    use_relay: bool = False


MAX_BATCH = 500  # messages in one request; a larger job is several batches


class MessageBatchCreate(_Strict):
    """POST /messages/batch: up to 500 messages, each as POST /messages takes it (JSON only:
    attachments are stored files). All are queued in one transaction, or none."""

    items: list[MessageCreate] = Field(min_length=1, max_length=MAX_BATCH)
