"""Client companies, contact persons, tasks, in-app notifications and webhooks (A7, D5, F1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false, true

from postroom.db.base import Base, TenantOwned, UtcDateTime, enum_column, utcnow
from postroom.enums import JobStatus, TaskStatus, TaxPeriod


class Client(TenantOwned, Base):
    """A client company of the office (created by hand, by the API or from incoming mail)."""

    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("company_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    # The e-mail domain mail from this client comes from; None for free-mail senders.
    domain: Mapped[str | None] = mapped_column(String(255), default=None)
    tax_id: Mapped[str | None] = mapped_column(String(50), default=None)
    created_from_mail_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # F1 (seed 001): a new client has only in-app and Web Push on; the office turns on the rest.
    channel_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    channel_sms: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    channel_inapp: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    channel_webpush: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # F3: which deadlines apply to the client (services/deadlines.py computes the dates).
    vat_period: Mapped[TaxPeriod] = enum_column(
        TaxPeriod, "vat_period", default=TaxPeriod.MONTHLY, server_default="monthly"
    )
    income_tax_period: Mapped[TaxPeriod] = enum_column(
        TaxPeriod, "income_tax_period", default=TaxPeriod.MONTHLY, server_default="monthly"
    )
    # ZUS contributions are due on the 15th (budget units) or the 20th (everyone else).
    zus_day: Mapped[int | None] = mapped_column(Integer, default=20, server_default="20")
    # Day of the following month by which the client delivers its documents to the office.
    documents_day: Mapped[int | None] = mapped_column(Integer, default=5, server_default="5")


class Contact(TenantOwned, Base):
    """A contact person, usually of a client company."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("company_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True, default=None
    )
    email: Mapped[str] = mapped_column(String(320))  # lower-cased
    name: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str | None] = mapped_column(String(50), default=None)
    # Opens the contact's public Web Push subscription page (/push/{token}); random, not a
    # login: it lets a browser subscribe to this contact's notifications and nothing else.
    portal_token: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    created_from_mail_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Task(TenantOwned, Base):
    """A to-do, e.g. one per incoming message when the account says so (A7)."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TaskStatus] = enum_column(TaskStatus, "status", default=TaskStatus.OPEN)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True, default=None
    )
    # Unique: a resync never makes a second task for the same message.
    mail_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="SET NULL"), unique=True, default=None
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    assignee_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class Notification(TenantOwned, Base):
    """An in-app notification for a user or a client's contact person (A7, F1)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_unread", "user_id", "read_at"),
        Index("ix_notifications_contact_unread", "contact_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[str] = mapped_column(String(50))  # "new_mail", "reminder", …
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), default=None
    )
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    count: Mapped[int] = mapped_column(Integer, default=1)  # e.g. new messages in one fetch
    link: Mapped[str | None] = mapped_column(String(1000), default=None)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class WebhookEndpoint(TenantOwned, Base):
    """Where a host application wants to hear about events (contact.created, task.created, …)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every event
    # HMAC key for the signature header, encrypted like every other secret.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WebhookDelivery(TenantOwned, Base):
    """One event for one endpoint, delivered by the worker with retries (durable like mail)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[JobStatus] = enum_column(JobStatus, "status", default=JobStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
