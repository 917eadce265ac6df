"""One fetch per account at a time, across worker processes: a lease in mail_sync_states.

Taking the lease is one UPDATE … WHERE the lease is free or expired; the database decides
between two workers that try at once (PostgreSQL re-checks the WHERE after the first
commits; SQLite serialises writers). Every batch a fetch commits renews the lease in the
same transaction, so a fetch whose lease was taken over can never commit another batch.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.db.models_mailbox import MailSyncState
from postroom.errors import PostroomError


class LockLostError(PostroomError):
    """The fetch's lease expired and another worker took the account over; stop quietly."""

    code = "sync_lock_lost"


def ensure_state(session: Session, account: Account) -> MailSyncState:
    """The account's sync state row, created on first use (two creators at once: one wins)."""
    state = session.get(MailSyncState, account.id)
    if state is not None:
        return state
    try:
        with session.begin_nested():
            state = MailSyncState(company_id=account.company_id, account_id=account.id)
            session.add(state)
    except IntegrityError:
        state = session.scalars(
            select(MailSyncState).where(MailSyncState.account_id == account.id)
        ).one()
    return state


def _rowcount(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


def try_acquire(
    session: Session,
    *,
    account_id: int,
    owner: str,
    lease_seconds: float,
    now: datetime | None = None,
) -> bool:
    """Take the account's lease if it is free or expired; the caller commits. `owner` names
    one fetch (not a process), so even one process never runs two fetches of an account."""
    now = now or utcnow()
    result = session.execute(
        update(MailSyncState)
        .where(
            MailSyncState.account_id == account_id,
            or_(
                MailSyncState.lock_owner.is_(None),
                MailSyncState.lock_expires_at.is_(None),
                MailSyncState.lock_expires_at < now,
            ),
        )
        .values(lock_owner=owner, lock_expires_at=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def renew(
    session: Session,
    *,
    account_id: int,
    owner: str,
    lease_seconds: float,
    now: datetime | None = None,
) -> None:
    """Extend the lease; LockLostError if it is no longer ours (the transaction must roll back)."""
    now = now or utcnow()
    result = session.execute(
        update(MailSyncState)
        .where(MailSyncState.account_id == account_id, MailSyncState.lock_owner == owner)
        .values(lock_expires_at=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        raise LockLostError(f"The fetch lock of account {account_id} was taken over.")


def release(session: Session, *, account_id: int, owner: str) -> None:
    session.execute(
        update(MailSyncState)
        .where(MailSyncState.account_id == account_id, MailSyncState.lock_owner == owner)
        .values(lock_owner=None, lock_expires_at=None)
        .execution_options(synchronize_session=False)
    )


def is_locked(state: MailSyncState, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (
        state.lock_owner is not None
        and state.lock_expires_at is not None
        and state.lock_expires_at >= now
    )
