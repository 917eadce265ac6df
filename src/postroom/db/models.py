"""The tables: companies, users, groups, projects, accounts with access and history, tokens."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postroom.db.base import Base, TenantOwned, UtcDateTime, enum_column, utcnow
from postroom.enums import (
    AccessMode,
    AuthMethod,
    CipherLevel,
    EmailMode,
    IncomingProtocol,
    Language,
    OAuthProvider,
    Role,
    Security,
)


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    email_mode: Mapped[EmailMode] = enum_column(EmailMode, "email_mode", default=EmailMode.OFF)
    # None: the platform-wide limit from settings applies (B5).
    relay_document_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class User(TenantOwned, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique across companies: the e-mail address is the login.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    role: Mapped[Role] = enum_column(Role, "role", default=Role.USER)
    can_see_others_accounts: Mapped[bool] = mapped_column(Boolean, default=False)  # E2
    can_purge_mail: Mapped[bool] = mapped_column(Boolean, default=False)  # D3
    language: Mapped[Language] = enum_column(Language, "language", default=Language.PL)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class Group(TenantOwned, Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    members: Mapped[list[GroupMember]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class GroupMember(TenantOwned, Base):
    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class Project(TenantOwned, Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Account(TenantOwned, Base):
    """A connected mailbox: outgoing (A1–A3), incoming (A4) settings and options (A7–A9)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a company (shared) account; otherwise the user's personal account (B1).
    owner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    access_mode: Mapped[AccessMode] = enum_column(
        AccessMode, "access_mode", default=AccessMode.EVERYONE
    )

    # A1: sender identity
    email_address: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    reply_to: Mapped[str | None] = mapped_column(String(320), default=None)

    # A1–A3: outgoing
    smtp_host: Mapped[str] = mapped_column(String(255), default="")
    smtp_port: Mapped[int] = mapped_column(Integer, default=587)
    smtp_security: Mapped[Security] = enum_column(
        Security, "smtp_security", default=Security.STARTTLS
    )
    smtp_cipher_level: Mapped[CipherLevel] = enum_column(
        CipherLevel, "smtp_cipher_level", default=CipherLevel.DEFAULT
    )
    smtp_auth: Mapped[AuthMethod] = enum_column(
        AuthMethod, "smtp_auth", default=AuthMethod.PASSWORD
    )
    smtp_username: Mapped[str] = mapped_column(String(320), default="")
    smtp_password_encrypted: Mapped[str | None] = mapped_column(Text, default=None)

    # A4: incoming
    incoming_protocol: Mapped[IncomingProtocol] = enum_column(
        IncomingProtocol, "incoming_protocol", default=IncomingProtocol.NONE
    )
    incoming_host: Mapped[str] = mapped_column(String(255), default="")
    incoming_port: Mapped[int | None] = mapped_column(Integer, default=None)
    incoming_security: Mapped[Security] = enum_column(
        Security, "incoming_security", default=Security.TLS
    )
    incoming_cipher_level: Mapped[CipherLevel] = enum_column(
        CipherLevel, "incoming_cipher_level", default=CipherLevel.DEFAULT
    )
    incoming_auth: Mapped[AuthMethod] = enum_column(
        AuthMethod, "incoming_auth", default=AuthMethod.PASSWORD
    )
    incoming_username: Mapped[str] = mapped_column(String(320), default="")
    incoming_password_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    # Set when the first message is downloaded; the protocol is fixed from then on (A4).
    first_fetched_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    # A3: OAuth2 (XOAUTH2)
    oauth_provider: Mapped[str | None] = mapped_column(String(50), default=None)
    oauth_refresh_token_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    oauth_access_token_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    oauth_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    # A7: options
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    leave_on_server: Mapped[bool] = mapped_column(Boolean, default=True)
    fetch_since: Mapped[date | None] = mapped_column(Date, default=None)
    delete_on_server_when_purged: Mapped[bool] = mapped_column(Boolean, default=False)
    notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    create_contacts: Mapped[bool] = mapped_column(Boolean, default=False)
    create_tasks: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_folder: Mapped[str | None] = mapped_column(String(255), default=None)
    drafts_folder: Mapped[str | None] = mapped_column(String(255), default=None)
    fetch_interval_minutes: Mapped[int] = mapped_column(Integer, default=5)

    # A8: header and signature (HTML, sanitized when saved)
    header_html: Mapped[str] = mapped_column(Text, default="")
    signature_html: Mapped[str] = mapped_column(Text, default="")

    # A9: autoresponder
    autoresponder_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    autoresponder_from: Mapped[date | None] = mapped_column(Date, default=None)
    autoresponder_until: Mapped[date | None] = mapped_column(Date, default=None)
    autoresponder_subject: Mapped[str] = mapped_column(String(500), default="")
    autoresponder_text: Mapped[str] = mapped_column(Text, default="")

    # Health: connection results of tests, fetches and sends (issue "account setup").
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_auth_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Set after too many authentication failures in a row or a failed OAuth refresh: fetching
    # pauses until someone fixes the settings ("reconnect this account").
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    attention_reason: Mapped[str | None] = mapped_column(String(50), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)  # the server's own words
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_test_report: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    # Sending limits (B5, C3): None takes the provider preset's default, or no limit.
    send_limit_per_minute: Mapped[int | None] = mapped_column(Integer, default=None)
    send_limit_per_day: Mapped[int | None] = mapped_column(Integer, default=None)

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    grants: Mapped[list[AccountGrant]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    projects: Mapped[list[AccountProject]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class AccountGrant(TenantOwned, Base):
    """One entry of an account's access list: a user or a group (B3, E1)."""

    __tablename__ = "account_grants"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (group_id IS NULL)", name="exactly_one_grantee"),
        UniqueConstraint("account_id", "user_id", "group_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), index=True, default=None
    )


class AccountProject(TenantOwned, Base):
    """An account bound to a project is offered only in it (B4)."""

    __tablename__ = "account_projects"
    __table_args__ = (UniqueConstraint("account_id", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )


class AccountChange(TenantOwned, Base):
    """History (A10): who changed which fields of an account, old → new; secrets as "changed"."""

    __tablename__ = "account_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Not a foreign key: history outlives a deleted account.
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    actor_label: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(20))  # created / updated / deleted
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class ApiToken(TenantOwned, Base):
    """A bearer token of one user; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, shown in lists so a person can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class WebSession(TenantOwned, Base):
    """A logged-in browser; the cookie holds a random id whose SHA-256 is stored here."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class OAuthFlow(TenantOwned, Base):
    """A started "connect with Google/Microsoft" sign-in, until the provider sends the user back.

    The callback is found by the SHA-256 of `state` (RFC 6749 §10.12); the PKCE verifier
    (RFC 7636) never leaves the server and is stored encrypted. Used once, then deleted.
    """

    __tablename__ = "oauth_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[OAuthProvider] = enum_column(OAuthProvider, "provider")
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_verifier_encrypted: Mapped[str] = mapped_column(Text)
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    # Switch the account's outgoing / incoming login to XOAUTH2 once connected.
    use_for_smtp: Mapped[bool] = mapped_column(Boolean, default=True)
    use_for_incoming: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


# The sending tables live in their own module; importing the models always registers them too.
from postroom.db import (  # noqa: E402, F401
    models_campaigns,
    models_channels,
    models_crm,
    models_domains,
    models_mailbox,
    models_outbox,
)
