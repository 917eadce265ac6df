"""Sending: the durable outbox, its recipients and attempts, stored files and drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postroom.db.base import Base, TenantOwned, UtcDateTime, enum_column, utcnow
from postroom.enums import (
    AttemptOutcome,
    DocumentKind,
    MessageStatus,
    RecipientKind,
    RecipientStatus,
    SentCopyStatus,
)


class OutboxMessage(TenantOwned, Base):
    """One message to send, committed with its full MIME (in `body`) before the API answers."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("company_id", "idempotency_key"),
        # The worker's claim query: due messages in order.
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        # The relay's per-company count (B5).
        Index("ix_outbox_messages_relay", "company_id", "via_relay"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # None with via_relay: sent through the platform relay (B5).
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True, default=None
    )
    via_relay: Mapped[bool] = mapped_column(Boolean, default=False)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), default=None
    )
    document_kind: Mapped[DocumentKind] = enum_column(
        DocumentKind, "document_kind", default=DocumentKind.OTHER
    )
    from_own_template: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)

    status: Mapped[MessageStatus] = enum_column(
        MessageStatus, "status", default=MessageStatus.QUEUED
    )
    message_id: Mapped[str] = mapped_column(String(255), unique=True)  # without <>
    envelope_from: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(1000), default="")
    size: Mapped[int] = mapped_column(Integer)  # of the MIME in outbox_bodies

    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # A claimed message belongs to one worker until the lease expires; a dead worker's
    # messages are claimed again after that (C3).
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    last_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_reply: Mapped[str | None] = mapped_column(Text, default=None)  # the server's words
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    sent_copy_status: Mapped[SentCopyStatus] = enum_column(
        SentCopyStatus, "sent_copy_status", default=SentCopyStatus.NOT_NEEDED
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)

    # Loaded only when asked for: status changes never touch the blob.
    body: Mapped[OutboxBody] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    recipients: Mapped[list[OutboxRecipient]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="OutboxRecipient.id"
    )
    attempts: Mapped[list[DeliveryAttempt]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="DeliveryAttempt.id"
    )


class OutboxBody(TenantOwned, Base):
    """The MIME of one outbox message, written once at submit and read only to send it.

    Its own table so that the claim and result updates of outbox_messages (two per message)
    rewrite a small row, not ~20 KB of MIME each time.
    """

    __tablename__ = "outbox_bodies"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), primary_key=True
    )
    mime: Mapped[bytes] = mapped_column(LargeBinary)


class OutboxRecipient(TenantOwned, Base):
    """One envelope recipient and what the server said about it."""

    __tablename__ = "outbox_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(320), index=True)
    kind: Mapped[RecipientKind] = enum_column(RecipientKind, "kind", default=RecipientKind.TO)
    status: Mapped[RecipientStatus] = enum_column(
        RecipientStatus, "status", default=RecipientStatus.PENDING
    )
    code: Mapped[int | None] = mapped_column(Integer, default=None)
    reply: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class DeliveryAttempt(TenantOwned, Base):
    """Every try to hand the message to a server, with the answer (C3)."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True
    )
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    outcome: Mapped[AttemptOutcome] = enum_column(AttemptOutcome, "outcome")
    code: Mapped[int | None] = mapped_column(Integer, default=None)
    reply: Mapped[str | None] = mapped_column(Text, default=None)


class StoredFile(TenantOwned, Base):
    """An uploaded file (an invoice PDF); the bytes live in the file store, not the database."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Draft(TenantOwned, Base):
    """A message being written; saved on close and every few seconds (C4)."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), default=None
    )
    # Everything the compose window holds: recipients, subject, bodies, file ids, kind.
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Where the draft was last stored on the IMAP server (to replace it on the next save).
    imap_folder: Mapped[str | None] = mapped_column(String(255), default=None)
    imap_uid: Mapped[int | None] = mapped_column(Integer, default=None)
    # Sent or deleted, with a copy that may still be on the IMAP server: the row stays (content
    # emptied) until the worker has removed that copy, so a restart cannot forget it.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
