"""Response body of an account's fetching state and progress (GET /accounts/{id}/sync)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from postroom.services.sync_progress import SyncPhase, SyncStatus


class SyncStatePublic(BaseModel):
    account_id: int
    phase: SyncPhase = Field(
        description="idle, queued (fetch asked, not started), connecting, folders, fetching, "
        "indexing (making new mail searchable), failed (see last_error)."
    )
    running: bool = Field(description="A fetch of this account is under way now.")
    folder: str | None = Field(description="The folder being fetched.")
    done: int = Field(description="Messages done in the current (or last) phase.")
    total: int = Field(description="Messages expected in it (an estimate until listed).")
    fetch_requested_at: datetime | None
    last_fetch_started_at: datetime | None
    last_fetch_finished_at: datetime | None
    last_new_messages: int = Field(description="Messages the last finished fetch stored.")
    next_fetch_at: datetime | None
    first_import_done_at: datetime | None = Field(
        description="When the first full download ended; mail stored before it is history "
        "(no autoresponder, tasks or notifications)."
    )
    idle_push: bool | None = Field(description="The server offers IMAP IDLE (None: not known).")
    last_success_at: datetime | None
    last_error: str | None = Field(description="The server's own words at the last failure.")
    last_error_at: datetime | None
    needs_attention: bool

    @classmethod
    def of(cls, status: SyncStatus) -> SyncStatePublic:
        return cls(
            account_id=status.account_id,
            phase=SyncPhase(status.phase),
            running=status.running,
            folder=status.folder,
            done=status.done,
            total=status.total,
            fetch_requested_at=status.fetch_requested_at,
            last_fetch_started_at=status.last_fetch_started_at,
            last_fetch_finished_at=status.last_fetch_finished_at,
            last_new_messages=status.last_new_messages,
            next_fetch_at=status.next_fetch_at,
            first_import_done_at=status.first_import_done_at,
            idle_push=status.supports_idle,
            last_success_at=status.last_success_at,
            last_error=status.last_error,
            last_error_at=status.last_error_at,
            needs_attention=status.needs_attention,
        )
