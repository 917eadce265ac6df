"""Which worker watches which account with IMAP IDLE: one watcher per account across workers.

Each worker, at every refresh of its watched set, claims the accounts it may watch with one
UPDATE … RETURNING: those whose IDLE lease is free, expired or already its own. The lease runs
a few refreshes long, so a worker that dies hands its accounts over within that time, and a
worker that stops releases them at once. Fetches have their own lease (services/sync_lock.py):
two watchers of one account would never fetch it twice, but would hold two connections that
providers count against their per-user limits (Gmail: 15).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.db.models_mailbox import MailSyncState
from postroom.enums import IncomingProtocol
from postroom.services.sync_lock import ensure_state
from postroom.services.sync_schedule import DueFetch


def _fetchable_imap() -> list[ColumnElement[bool]]:
    return [
        Account.active.is_(True),
        Account.needs_attention.is_(False),
        Account.incoming_protocol == IncomingProtocol.IMAP,
        Account.incoming_host != "",
        Account.incoming_port.is_not(None),
    ]


def _watchable() -> list[ColumnElement[bool]]:
    """Fetchable IMAP accounts not known to lack IDLE."""
    no_answer_yet = MailSyncState.supports_idle.is_(None)
    return [*_fetchable_imap(), or_(no_answer_yet, MailSyncState.supports_idle.is_(True))]


def claim_idle(
    session: Session,
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    now: datetime | None = None,
) -> list[DueFetch]:
    """The accounts `owner` is to watch (at most `limit`, its own first), their leases taken
    or renewed until now + `lease_seconds`; the caller commits. A platform query."""
    now = now or utcnow()
    _add_missing_states(session)
    claimable = or_(
        MailSyncState.idle_owner.is_(None),
        MailSyncState.idle_owner == owner,
        MailSyncState.idle_expires_at.is_(None),
        MailSyncState.idle_expires_at < now,
    )
    mine_first = (MailSyncState.idle_owner == owner).desc()
    chosen = (
        select(MailSyncState.account_id)
        .join(Account, Account.id == MailSyncState.account_id)
        .where(*_watchable(), claimable)
        .order_by(mine_first, MailSyncState.account_id)
        .limit(limit)
        # Rows another worker is claiming right now are skipped, not waited for: two
        # workers locking overlapping rows in different orders deadlocked here (PostgreSQL;
        # SQLite has one writer and ignores this).
        .with_for_update(skip_locked=True, of=MailSyncState)
    )
    # The same condition again in the UPDATE: a lease another worker took in between stays its.
    claimed = session.execute(
        update(MailSyncState)
        .where(MailSyncState.account_id.in_(chosen.scalar_subquery()), claimable)
        .values(idle_owner=owner, idle_expires_at=now + timedelta(seconds=lease_seconds))
        .returning(MailSyncState.company_id, MailSyncState.account_id)
        .execution_options(synchronize_session=False)
    )
    return sorted(
        (DueFetch(company_id, account_id) for company_id, account_id in claimed),
        key=lambda due: due.account_id,
    )


def _add_missing_states(session: Session) -> None:
    """The lease lives in the account's sync state row, which the first fetch makes; a new
    account gets it here so that it is watched from the start."""
    missing = session.scalars(
        select(Account)
        .outerjoin(MailSyncState, MailSyncState.account_id == Account.id)
        .where(MailSyncState.account_id.is_(None), *_fetchable_imap())
    )
    for account in missing:
        ensure_state(session, account)


def release_idle(session: Session, *, owner: str, keep: set[int] | None = None) -> None:
    """Give up `owner`'s leases (all, or all but `keep`) so another worker can take them now."""
    condition = [MailSyncState.idle_owner == owner]
    if keep:
        condition.append(MailSyncState.account_id.not_in(keep))
    session.execute(
        update(MailSyncState)
        .where(*condition)
        .values(idle_owner=None, idle_expires_at=None)
        .execution_options(synchronize_session=False)
    )
