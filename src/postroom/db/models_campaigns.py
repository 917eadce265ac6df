"""Serial sending (C2): templates with versions, campaigns and their recipients,
unsubscribes, surveys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from postroom.db.base import Base, TenantOwned, UtcDateTime, enum_column, utcnow
from postroom.enums import (
    CampaignKind,
    CampaignRecipientStatus,
    CampaignStatus,
    DocumentKind,
    QuestionKind,
)


class MessageTemplate(TenantOwned, Base):
    """A company's template; its content lives in versions, the newest being current."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The document kind of what it produces: its category decides the relay rules (B6).
    document_kind: Mapped[DocumentKind] = enum_column(
        DocumentKind, "document_kind", default=DocumentKind.OTHER
    )
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class TemplateVersion(TenantOwned, Base):
    """One saved state of a template; never changed once written (a campaign records it)."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("message_templates.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    variables: Mapped[list[str]] = mapped_column(JSON, default=list)  # found in the sources
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Campaign(TenantOwned, Base):
    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("company_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[CampaignKind] = enum_column(CampaignKind, "kind", default=CampaignKind.DOCUMENTS)
    template_version_id: Mapped[int] = mapped_column(
        ForeignKey("template_versions.id", ondelete="RESTRICT"), index=True
    )
    # None: each recipient's sender is chosen by the routing rules (B1–B4).
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[CampaignStatus] = enum_column(
        CampaignStatus, "status", default=CampaignStatus.DRAFT
    )
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # The feeder (worker) that hands pending recipients to the outbox holds this lease.
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class CampaignRecipient(TenantOwned, Base):
    """One row of a campaign: who, their variables and attachments, and what became of it."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        Index("ix_campaign_recipients_state", "campaign_id", "status"),
        UniqueConstraint("campaign_id", "row_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)  # as in the uploaded file / API list
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(300), default="")
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attachment_file_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[CampaignRecipientStatus] = enum_column(
        CampaignRecipientStatus, "status", default=CampaignRecipientStatus.PENDING
    )
    problems: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL"), index=True, default=None
    )
    # Random, for the public unsubscribe and survey links of this recipient.
    token: Mapped[str] = mapped_column(String(64), unique=True)


class Unsubscribe(TenantOwned, Base):
    """An address that left the company's newsletters (documents still go to it)."""

    __tablename__ = "unsubscribes"
    __table_args__ = (UniqueConstraint("company_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))  # lower-cased
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), default=None
    )
    source: Mapped[str] = mapped_column(String(30), default="link")  # one-click, link, api
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SurveyQuestion(TenantOwned, Base):
    __tablename__ = "survey_questions"
    __table_args__ = (UniqueConstraint("campaign_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[QuestionKind] = enum_column(QuestionKind, "kind")
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)


class SurveyAnswer(TenantOwned, Base):
    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("recipient_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_recipients.id", ondelete="CASCADE")
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id", ondelete="CASCADE"))
    value: Mapped[Any] = mapped_column(JSON)  # a string, or a list of chosen options
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
