"""When accounts are fetched: due accounts, "fetch now" requests, the schedule after a fetch.

An account is due when it is active, has an incoming server, does not need attention, is not
being fetched (its lease is free), and either someone asked for a fetch or its next fetch
time has come (every `fetch_interval_minutes`, later after failures: the backoff).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.db.models_mailbox import MailSyncState
from postroom.enums import IncomingProtocol
from postroom.errors import ConflictError
from postroom.mail.errors import MailError, MissingSecretError, ServerRefusedError
from postroom.services.account_health import FailureKind, record_failure, record_success
from postroom.services.sync_lock import ensure_state
from postroom.services.sync_progress import SyncPhase

log = logging.getLogger("postroom.sync")

# After failures the next attempt waits the interval doubled per failure in a row, up to this.
MAX_BACKOFF = timedelta(hours=1)
FETCHED_PROTOCOLS = (IncomingProtocol.IMAP, IncomingProtocol.POP3)

# In-process listeners told when a fetch was requested (the worker wakes up at once instead
# of at its next poll). Other processes notice the request at their next poll.
_listeners: list[Callable[[int], None]] = []


@dataclass(frozen=True)
class DueFetch:
    company_id: int
    account_id: int


def add_request_listener(listener: Callable[[int], None]) -> None:
    _listeners.append(listener)


def remove_request_listener(listener: Callable[[int], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def notify_requested(account_id: int) -> None:
    """Call after the transaction that requested the fetch has committed."""
    for listener in list(_listeners):
        try:
            listener(account_id)
        except Exception:  # a listener of a stopped worker must not break the API
            log.exception("fetch request listener failed")


def fetchable(account: Account) -> bool:
    return (
        account.active
        and not account.needs_attention
        and account.incoming_protocol in FETCHED_PROTOCOLS
        and bool(account.incoming_host)
        and bool(account.incoming_port)
    )


def due_fetches(
    session: Session, *, now: datetime | None = None, limit: int = 50
) -> list[DueFetch]:
    """Accounts of every company that should be fetched now, requested ones first.

    A platform query (the worker serves every company); each fetch then runs in its own
    company's scope.
    """
    now = now or utcnow()
    state = MailSyncState
    scheduled = and_(
        or_(state.next_fetch_at.is_(None), state.next_fetch_at <= now),
        or_(state.backoff_until.is_(None), state.backoff_until <= now),
    )
    query = (
        select(Account.company_id, Account.id)
        .outerjoin(state, state.account_id == Account.id)
        .where(
            Account.active.is_(True),
            Account.needs_attention.is_(False),
            Account.incoming_protocol.in_(FETCHED_PROTOCOLS),
            Account.incoming_host != "",
            Account.incoming_port.is_not(None),
            or_(state.account_id.is_(None), state.fetch_requested_at.is_not(None), scheduled),
            or_(state.lock_owner.is_(None), state.lock_expires_at < now),
        )
        .order_by(state.fetch_requested_at.is_(None), state.next_fetch_at.nulls_first())
        .limit(limit)
    )
    return [DueFetch(company_id, account_id) for company_id, account_id in session.execute(query)]


def mark_requested(session: Session, account_id: int, *, now: datetime | None = None) -> None:
    """A change seen by IDLE while another worker held the account: fetch again after it."""
    state = session.get(MailSyncState, account_id)
    if state is not None:
        state.fetch_requested_at = now or utcnow()


def mark_no_idle(session: Session, account_id: int) -> None:
    state = session.get(MailSyncState, account_id)
    if state is not None:
        state.supports_idle = False


def request_fetch(
    session: Session, account: Account, *, now: datetime | None = None
) -> MailSyncState:
    """ "Fetch now" (D1): the worker fetches the account as soon as it can; the caller commits
    and then calls `notify_requested`."""
    if account.incoming_protocol not in FETCHED_PROTOCOLS or not account.incoming_host:
        raise ConflictError(
            "This account has no incoming server (IMAP or POP3), so there is nothing to fetch.",
            code="no_incoming_server",
        )
    if not account.active:
        raise ConflictError(
            "This account is inactive, and inactive accounts are not fetched (A7). "
            "Make it active first.",
            code="account_inactive",
        )
    if account.needs_attention:
        raise ConflictError(
            "This account needs attention (the server kept refusing its login): correct its "
            f"settings or sign in again first. Last error: {account.last_error or 'none'}",
            code="account_needs_attention",
        )
    state = ensure_state(session, account)
    state.fetch_requested_at = now or utcnow()
    return state


def record_fetch_done(
    account: Account,
    state: MailSyncState,
    *,
    started_at: datetime,
    new_messages: int,
    now: datetime | None = None,
) -> None:
    """A fetch finished: the next one after the account's interval; the first one ends the
    history import (mail stored until now never triggers autoresponder or tasks)."""
    now = now or utcnow()
    record_success(account, now=now)
    state.last_fetch_finished_at = now
    state.last_new_messages = new_messages
    state.next_fetch_at = now + timedelta(minutes=max(1, account.fetch_interval_minutes))
    state.backoff_until = None
    state.phase = SyncPhase.IDLE.value
    state.progress_folder = None
    if state.fetch_requested_at is not None and state.fetch_requested_at <= started_at:
        state.fetch_requested_at = None  # a request made during the fetch gets its own fetch
    if state.first_import_done_at is None:
        state.first_import_done_at = now


def failure_kind(exc: BaseException) -> FailureKind:
    refused_login = isinstance(exc, MissingSecretError) or (
        isinstance(exc, ServerRefusedError) and exc.command.lower().startswith(("login", "pass"))
    )
    return FailureKind.AUTH if refused_login else FailureKind.CONNECTION


def server_words(exc: BaseException) -> str:
    """What the account shows as its last error: the server's own words where there are any."""
    if isinstance(exc, MailError):
        return exc.message
    return str(exc) or type(exc).__name__


def record_fetch_failed(
    account: Account,
    state: MailSyncState,
    *,
    started_at: datetime,
    error: BaseException,
    auth_failure_limit: int,
    now: datetime | None = None,
) -> None:
    """A fetch failed: the server's words on the account (health), and a backoff that doubles
    the interval per failure in a row, up to an hour."""
    now = now or utcnow()
    record_failure(
        account,
        kind=failure_kind(error),
        server_words=server_words(error),
        auth_failure_limit=auth_failure_limit,
        now=now,
    )
    interval = timedelta(minutes=max(1, account.fetch_interval_minutes))
    doublings = min(max(account.consecutive_failures - 1, 0), 10)
    delay = min(interval * (2**doublings), max(MAX_BACKOFF, interval))
    state.backoff_until = now + delay
    state.next_fetch_at = now + delay
    state.last_fetch_finished_at = now
    state.phase = SyncPhase.FAILED.value
    if state.fetch_requested_at is not None and state.fetch_requested_at <= started_at:
        state.fetch_requested_at = None
