"""Request and response bodies: XCreate / XUpdate / XPublic per resource, and pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from postroom.api.schemas_deliverability import SenderDomainReportPublic
from postroom.db.models import Account, Group
from postroom.enums import EmailMode, Language, Role, Security
from postroom.mail.report import Advice, ProbeKind, StepName, StepStatus
from postroom.services.account_schemas import (
    AccountCreate,
    AccountOptionsUpdate,
    AccountVisibleSettings,
)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    total: int
    limit: int
    offset: int


# Companies


class AdminCreate(Strict):
    email: str
    name: str = ""
    password: SecretStr | None = Field(default=None, description="Omit to log in by API only.")


class CompanyCreate(Strict):
    name: Name
    verified: bool = False
    email_mode: EmailMode = EmailMode.OFF
    admin: AdminCreate


class CompanyPlatformUpdate(Strict):
    name: Name | None = None
    verified: bool | None = None
    email_mode: EmailMode | None = None
    relay_document_limit: int | None = Field(default=None, ge=0)


class CompanyUpdate(Strict):
    name: Name | None = None
    email_mode: EmailMode | None = None


class CompanyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    verified: bool
    email_mode: EmailMode
    relay_document_limit: int | None
    created_at: datetime


# Users and tokens


class UserCreate(Strict):
    email: str
    name: str = ""
    password: SecretStr | None = None
    role: Role = Role.USER
    can_see_others_accounts: bool = False
    can_purge_mail: bool = False
    language: Language = Language.PL


class UserUpdate(Strict):
    name: str | None = None
    password: SecretStr | None = None
    role: Role | None = None
    can_see_others_accounts: bool | None = None
    can_purge_mail: bool | None = None
    language: Language | None = None
    active: bool | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: Role
    can_see_others_accounts: bool
    can_purge_mail: bool
    language: Language
    active: bool
    created_at: datetime


class TokenCreate(Strict):
    user_id: int | None = Field(default=None, description="Default: the caller.")
    name: str = ""


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(TokenPublic):
    token: str = Field(description="Shown this once; only its hash is kept.")


class CompanyProvisioned(BaseModel):
    company: CompanyPublic
    admin: UserPublic
    admin_token: str = Field(description="The administrator's API token, shown this once.")


# Groups and projects


class GroupCreate(Strict):
    name: Name
    member_ids: list[int] = Field(default_factory=list)


class GroupUpdate(Strict):
    name: Name | None = None
    member_ids: list[int] | None = None


class GroupPublic(BaseModel):
    id: int
    name: str
    member_ids: list[int]

    @classmethod
    def of(cls, group: Group) -> GroupPublic:
        return cls(
            id=group.id, name=group.name, member_ids=sorted(m.user_id for m in group.members)
        )


class ProjectWrite(Strict):
    name: Name


class ProjectPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime


# Accounts


class AccountPublic(AccountVisibleSettings):
    """An account as callers see it: every setting, and for secrets only whether one is set."""

    model_config = ConfigDict(extra="ignore")

    id: int
    email_address: str
    owner_user_id: int | None
    kind: str = Field(description="personal (owned by a user) or company (shared)")
    smtp_password_set: bool
    incoming_password_set: bool
    oauth_connected: bool = Field(description="Signed in with Google/Microsoft (XOAUTH2, A3).")
    oauth_provider: str | None = Field(default=None, description="google or microsoft")
    needs_attention: bool = Field(
        default=False, description="Paused until someone fixes the account (account health)."
    )
    attention_reason: str | None = Field(
        default=None, description="Why: oauth_reconnect = sign in with the provider again."
    )
    last_error: str | None = Field(default=None, description="The last failing server answer.")
    last_error_at: datetime | None = None
    last_success_at: datetime | None = Field(
        default=None, description="The last connection and login that worked (test, fetch, send)."
    )
    consecutive_failures: int = Field(default=0, description="Failures in a row, of any kind.")
    consecutive_auth_failures: int = Field(
        default=0, description="Refused logins in a row; at the limit the account needs attention."
    )
    incoming_protocol_locked: bool = Field(description="Mail was downloaded; protocol fixed (A4).")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, account: Account) -> AccountPublic:
        values: dict[str, Any] = {
            name: getattr(account, name)
            for name in AccountVisibleSettings.model_fields
            if name not in {"access_user_ids", "access_group_ids", "project_ids"}
        }
        values.update(
            id=account.id,
            email_address=account.email_address,
            owner_user_id=account.owner_user_id,
            kind="company" if account.owner_user_id is None else "personal",
            access_user_ids=sorted(g.user_id for g in account.grants if g.user_id is not None),
            access_group_ids=sorted(g.group_id for g in account.grants if g.group_id is not None),
            project_ids=sorted(p.project_id for p in account.projects),
            smtp_password_set=account.smtp_password_encrypted is not None,
            incoming_password_set=account.incoming_password_encrypted is not None,
            oauth_connected=account.oauth_refresh_token_encrypted is not None,
            oauth_provider=account.oauth_provider,
            needs_attention=account.needs_attention,
            attention_reason=account.attention_reason,
            last_error=account.last_error,
            last_error_at=account.last_error_at,
            last_success_at=account.last_success_at,
            consecutive_failures=account.consecutive_failures,
            consecutive_auth_failures=account.consecutive_auth_failures,
            incoming_protocol_locked=account.first_fetched_at is not None,
            created_at=account.created_at,
            updated_at=account.updated_at,
        )
        return cls.model_validate(values)


class AccountBulkUpdate(Strict):
    account_ids: list[int] = Field(min_length=1, max_length=1000)
    options: AccountOptionsUpdate


class AccountChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    actor_user_id: int | None
    actor_label: str
    action: str
    changes: list[dict[str, Any]]
    at: datetime


# Account tests (A6)


class AccountTestRequest(AccountCreate):
    """The settings to test, as for creating an account, and whether to send a real message."""

    send_test_message: bool = Field(
        default=False,
        description="Send a message to the account's own address and wait for it to arrive.",
    )


class AccountTestOptions(Strict):
    send_test_message: bool = False


class StepPublic(BaseModel):
    name: StepName
    status: StepStatus
    duration_ms: int
    detail: str = Field(description="What happened, e.g. the TLS version and cipher.")
    server_reply: str | None = Field(description="The server's own words when it refused.")
    advice: Advice | None = Field(description="What to try, as a stable code.")
    advice_text: str | None = Field(description="What to try, in English.")


class ProbeReportPublic(BaseModel):
    kind: ProbeKind
    host: str
    port: int
    security: Security
    ok: bool
    duration_ms: int
    tls_version: str | None
    tls_cipher: str | None
    sent_folder: str | None = Field(description="IMAP: the folder found for sent copies.")
    steps: list[StepPublic]


class AccountTestReportPublic(BaseModel):
    """Each server's steps in order; planned steps not reached are "skipped"."""

    ok: bool
    duration_ms: int
    summary: str
    outgoing: ProbeReportPublic | None
    incoming: ProbeReportPublic | None
    round_trip: ProbeReportPublic | None
    sender_domain: SenderDomainReportPublic | None = Field(
        default=None, description="SPF, DKIM and DMARC of the address (shown, never blocking)."
    )
