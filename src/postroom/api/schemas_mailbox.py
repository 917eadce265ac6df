"""Response bodies of the mailbox operations: folders, message states, purges, migrations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from postroom.db.models_mailbox import MailMessage
from postroom.enums import FolderRole, JobStatus
from postroom.services.folders import FolderView
from postroom.services.migration import MigrationView


class FolderPublic(BaseModel):
    id: int
    account_id: int
    path: str = Field(description="The full name on the server, levels joined by `delimiter`.")
    name: str
    delimiter: str | None
    parent_id: int | None
    role: FolderRole
    is_local: bool = Field(description="Kept only in Postroom (POP3 accounts), not on a server.")
    selectable: bool
    total: int
    unread: int

    @classmethod
    def of(cls, view: FolderView) -> FolderPublic:
        f = view.folder
        return cls(
            id=f.id,
            account_id=f.account_id,
            path=f.path,
            name=f.name,
            delimiter=f.delimiter,
            parent_id=view.parent_id,
            role=f.role,
            is_local=f.is_local,
            selectable=f.selectable,
            total=view.total,
            unread=view.unread,
        )


class MailStatePublic(BaseModel):
    """Where a message is and its flags, after an action."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    folder_id: int
    deleted_from_folder_id: int | None = Field(
        description="In Deleted Items: the folder it was deleted from (restore puts it back)."
    )
    seen: bool
    flagged: bool

    @classmethod
    def of(cls, message: MailMessage) -> MailStatePublic:
        return cls.model_validate(message)


class MailStates(BaseModel):
    items: list[MailStatePublic]


class PurgePublic(BaseModel):
    purged: int
    deleted_on_server: int = Field(
        description="How many were deleted on the server too (the account's option, A7)."
    )


class MigrationFailure(BaseModel):
    message_id: int
    error: str


class MigrationPublic(BaseModel):
    id: int
    source_account_id: int
    target_account_id: int
    target_folder: str
    deactivate_source: bool
    status: JobStatus
    total: int
    copied: int
    skipped: int = Field(description="Already in the target folder (same Message-ID).")
    failed: int
    pending: int
    last_error: str | None
    failures: list[MigrationFailure] = Field(description="The first failed messages and why.")
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, view: MigrationView) -> MigrationPublic:
        m = view.migration
        return cls(
            id=m.id,
            source_account_id=m.source_account_id,
            target_account_id=m.target_account_id,
            target_folder=m.target_folder,
            deactivate_source=m.deactivate_source,
            status=m.status,
            total=m.total,
            copied=m.copied,
            skipped=m.skipped,
            failed=m.failed,
            pending=view.pending,
            last_error=m.last_error,
            failures=[MigrationFailure(message_id=i, error=e) for i, e in view.failures],
            created_at=m.created_at,
            finished_at=m.finished_at,
        )
