"""Reaching client companies (F1–F4): SMS, Web Push, communication history, reminders and
unpaid-invoice notices.

Every outgoing item is a durable row first (like the outbox): the request or scheduler that
decides to send commits the row in the same transaction as the decision, and a worker sends
it. That is what makes a reminder go out exactly once across restarts and several workers.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from postroom.db.base import Base, TenantOwned, UtcDateTime, enum_column, utcnow
from postroom.enums import (
    Channel,
    CommunicationStatus,
    InvoiceStatus,
    NoticeStatus,
    PushStatus,
    ReminderKind,
    SmsStatus,
)

Money = Numeric(14, 2)


class OfficeSettings(TenantOwned, Base):
    """The office's (company's) settings for reaching its clients; one row per company,
    created on first change (a missing row means the defaults)."""

    __tablename__ = "office_settings"
    __table_args__ = (UniqueConstraint("company_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # F2: SMS is off until someone accepts its cost (see SmsCostAcceptance).
    sms_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Alphanumeric sender name (≤ 11 characters, registered with the provider); None: the
    # provider's default sender.
    sms_sender_name: Mapped[str | None] = mapped_column(String(11), default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class SmsCostAcceptance(TenantOwned, Base):
    """F2: who turned SMS on, when, and which price list they accepted; turning SMS off
    stamps `revoked_*`. Kept for good: the record of consent to be charged."""

    __tablename__ = "sms_cost_acceptances"

    id: Mapped[int] = mapped_column(primary_key=True)
    accepted_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    accepted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    price_list: Mapped[str] = mapped_column(String(100))  # e.g. "smsapi-2026-01"
    price_per_segment: Mapped[Decimal] = mapped_column(Numeric(10, 4))
    currency: Mapped[str] = mapped_column(String(3))
    revoked_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class ClientCommunication(TenantOwned, Base):
    """One channel's part of one message to a client: the client's communication history."""

    __tablename__ = "client_communications"
    __table_args__ = (Index("ix_client_communications_client_created", "client_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = enum_column(Channel, "channel")
    status: Mapped[CommunicationStatus] = enum_column(CommunicationStatus, "status")
    # What caused it: "notify" (the API / UI), "reminder", "invoice_notice".
    source: Mapped[str] = mapped_column(String(30))
    # Groups the channels of one notify call / reminder / notice (same value on each row).
    batch_key: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(500), default="")
    body_preview: Mapped[str] = mapped_column(Text, default="")
    # Why skipped / failed, in a sentence; or the provider's answer.
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)  # addresses, numbers…
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL"), default=None
    )
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class SmsMessage(TenantOwned, Base):
    """One SMS to one phone number, sent by the worker through the configured provider."""

    __tablename__ = "sms_messages"
    __table_args__ = (Index("ix_sms_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True, default=None
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    communication_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_communications.id", ondelete="SET NULL"), index=True, default=None
    )
    to_number: Mapped[str] = mapped_column(String(20))  # E.164, e.g. +48600100200
    sender_name: Mapped[str | None] = mapped_column(String(11), default=None)
    body: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(10))  # "gsm7" or "ucs2"
    segments: Mapped[int] = mapped_column(Integer)
    cost_estimate: Mapped[Decimal | None] = mapped_column(Numeric(10, 4), default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    provider: Mapped[str] = mapped_column(String(20))  # "smsapi", "twilio"
    # The provider's id, matched by delivery-report callbacks.
    provider_message_id: Mapped[str | None] = mapped_column(String(100), index=True, default=None)
    status: Mapped[SmsStatus] = enum_column(SmsStatus, "status", default=SmsStatus.QUEUED)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class VapidKey(Base):
    """The platform's VAPID key pair (RFC 8292), made on first start; one row. Platform-wide
    (not a tenant's): browsers bind a subscription to this public key."""

    __tablename__ = "vapid_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    private_key_encrypted: Mapped[str] = mapped_column(Text)  # PEM, under the secret box
    public_key: Mapped[str] = mapped_column(String(200))  # uncompressed P-256, base64url
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PushSubscription(TenantOwned, Base):
    """A browser's push subscription (the PushSubscription JSON of the Push API)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True, default=None
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True, default=None
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    endpoint: Mapped[str] = mapped_column(String(2000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))  # base64url
    auth: Mapped[str] = mapped_column(String(100))  # base64url
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class PushMessage(TenantOwned, Base):
    """One push message to one subscription, sent by the worker (pywebpush)."""

    __tablename__ = "push_messages"
    __table_args__ = (Index("ix_push_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("push_subscriptions.id", ondelete="CASCADE"), index=True
    )
    communication_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_communications.id", ondelete="SET NULL"), index=True, default=None
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"title", "body", "url"}
    status: Mapped[PushStatus] = enum_column(PushStatus, "status", default=PushStatus.QUEUED)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class ReminderDefault(TenantOwned, Base):
    """The office's setting for one reminder kind (seed 001: on by default). A missing row
    means the built-in default (services/reminder_settings.py)."""

    __tablename__ = "reminder_defaults"
    __table_args__ = (UniqueConstraint("company_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReminderKind] = enum_column(ReminderKind, "kind")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    days_before: Mapped[int] = mapped_column(Integer, default=3)
    # Seed 001: "which day of each month" it is sent; None: `days_before` the deadline.
    day_of_month: Mapped[int | None] = mapped_column(Integer, default=None)


class ClientReminderOverride(TenantOwned, Base):
    """A client's own setting for one reminder kind; a None field inherits the default."""

    __tablename__ = "client_reminder_overrides"
    __table_args__ = (UniqueConstraint("client_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    kind: Mapped[ReminderKind] = enum_column(ReminderKind, "kind")
    enabled: Mapped[bool | None] = mapped_column(Boolean, default=None)
    days_before: Mapped[int | None] = mapped_column(Integer, default=None)
    day_of_month: Mapped[int | None] = mapped_column(Integer, default=None)


class ReminderData(TenantOwned, Base):
    """What the host application told us for one client, kind and period: the amount to pay
    or the documents to deliver; the reminder quotes it."""

    __tablename__ = "reminder_data"
    __table_args__ = (UniqueConstraint("client_id", "kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    kind: Mapped[ReminderKind] = enum_column(ReminderKind, "kind")
    period: Mapped[str] = mapped_column(String(10))  # "2026-10" or "2026-Q3"
    amount: Mapped[Decimal | None] = mapped_column(Money, default=None)
    currency: Mapped[str] = mapped_column(String(3), default="PLN")
    documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ReminderSend(TenantOwned, Base):
    """A reminder that went out: the unique key is what makes it exactly once per client,
    kind and period (inserted in the same transaction as the messages it queues)."""

    __tablename__ = "reminder_sends"
    __table_args__ = (UniqueConstraint("client_id", "kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    kind: Mapped[ReminderKind] = enum_column(ReminderKind, "kind")
    period: Mapped[str] = mapped_column(String(10))
    deadline: Mapped[date] = mapped_column(Date)
    send_on: Mapped[date] = mapped_column(Date)
    batch_key: Mapped[str] = mapped_column(String(64))  # its client_communications rows
    status: Mapped[NoticeStatus] = enum_column(NoticeStatus, "status", default=NoticeStatus.SENT)
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Invoice(TenantOwned, Base):
    """An invoice the host application registered (F4), to remind the client until paid."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("company_id", "number"),
        Index("ix_invoices_status_due", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="PLN")
    issue_date: Mapped[date | None] = mapped_column(Date, default=None)
    due_date: Mapped[date] = mapped_column(Date)
    file_id: Mapped[int | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[InvoiceStatus] = enum_column(
        InvoiceStatus, "status", default=InvoiceStatus.UNPAID
    )
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DunningLevel(TenantOwned, Base):
    """One step of the office's unpaid-invoice ladder: a reminder before the due date
    (negative offset) and escalating notices after it, each with its own text."""

    __tablename__ = "dunning_levels"
    __table_args__ = (UniqueConstraint("company_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, 3… in sending order
    # Days relative to the due date: -3 = three days before, 7 = a week after.
    offset_days: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    # A company template (its subject/body get invoice variables); None: subject/body below.
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("message_templates.id", ondelete="SET NULL"), default=None
    )
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")


class InvoiceNotice(TenantOwned, Base):
    """One dunning level for one invoice: planned when the invoice is registered, sent once
    by the scheduler (unique per invoice and level), cancelled by a payment."""

    __tablename__ = "invoice_notices"
    __table_args__ = (
        UniqueConstraint("invoice_id", "level"),
        Index("ix_invoice_notices_due", "status", "send_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)  # DunningLevel.position
    send_on: Mapped[date] = mapped_column(Date)
    status: Mapped[NoticeStatus] = enum_column(NoticeStatus, "status", default=NoticeStatus.PENDING)
    batch_key: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
