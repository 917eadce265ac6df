"""A fetch's progress as the API, the web UI and the CLI show it, kept in mail_sync_states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.db.models_mailbox import MailSyncState


class SyncPhase(StrEnum):
    IDLE = "idle"  # not fetching (the last fetch, if any, succeeded)
    QUEUED = "queued"  # "fetch now" asked; a worker picks it up shortly
    CONNECTING = "connecting"
    FOLDERS = "folders"  # listing the server's folders and mirroring the list
    FETCHING = "fetching"  # downloading new messages (folder, done of total)
    INDEXING = "indexing"  # making the new messages searchable
    FAILED = "failed"  # the last fetch failed; the account's last_error says why


def set_progress(
    state: MailSyncState,
    phase: SyncPhase,
    *,
    folder: str | None = None,
    done: int | None = None,
    total: int | None = None,
) -> None:
    state.phase = phase.value
    state.progress_folder = folder
    if done is not None:
        state.progress_done = done
    if total is not None:
        state.progress_total = total


@dataclass(frozen=True)
class SyncStatus:
    """State and progress of an account's fetching (GET /accounts/{id}/sync)."""

    account_id: int
    phase: str
    running: bool
    folder: str | None
    done: int
    total: int
    fetch_requested_at: datetime | None
    last_fetch_started_at: datetime | None
    last_fetch_finished_at: datetime | None
    last_new_messages: int
    next_fetch_at: datetime | None
    first_import_done_at: datetime | None
    supports_idle: bool | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    needs_attention: bool


def sync_status(account: Account, state: MailSyncState | None) -> SyncStatus:
    now = utcnow()
    running = bool(
        state is not None
        and state.lock_owner is not None
        and state.lock_expires_at is not None
        and state.lock_expires_at >= now
    )
    phase = SyncPhase.IDLE.value if state is None else state.phase
    if state is not None and not running and phase not in (SyncPhase.FAILED, SyncPhase.IDLE):
        phase = SyncPhase.IDLE.value  # a fetch that died mid-way: nothing is running now
    if state is not None and not running and state.fetch_requested_at is not None:
        phase = SyncPhase.QUEUED.value
    return SyncStatus(
        account_id=account.id,
        phase=phase,
        running=running,
        folder=state.progress_folder if state and running else None,
        done=state.progress_done if state else 0,
        total=state.progress_total if state else 0,
        fetch_requested_at=state.fetch_requested_at if state else None,
        last_fetch_started_at=state.last_fetch_started_at if state else None,
        last_fetch_finished_at=state.last_fetch_finished_at if state else None,
        last_new_messages=state.last_new_messages if state else 0,
        next_fetch_at=state.next_fetch_at if state else None,
        first_import_done_at=state.first_import_done_at if state else None,
        supports_idle=state.supports_idle if state else None,
        last_success_at=account.last_success_at,
        last_error=account.last_error,
        last_error_at=account.last_error_at,
        needs_attention=account.needs_attention,
    )


def read_status(session: Session, account: Account) -> SyncStatus:
    return sync_status(account, session.get(MailSyncState, account.id))
