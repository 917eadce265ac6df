"""Request and response bodies: XCreate / XUpdate / XPublic per resource, and pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from postroom.db.models import Account, Group
from postroom.enums import EmailMode, Language, Role
from postroom.services.account_schemas import AccountOptionsUpdate, AccountVisibleSettings

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
    oauth_connected: bool
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
