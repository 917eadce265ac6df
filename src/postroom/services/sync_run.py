"""One fetch of one account, start to end: the lease, the protocol's sync, indexing, health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from postroom.db.base import utcnow
from postroom.db.models_mailbox import MailSyncState
from postroom.enums import IncomingProtocol
from postroom.errors import PostroomError
from postroom.services import sync_lock
from postroom.services.mail_ingest import index_pending
from postroom.services.new_mail import run_pending_rules
from postroom.services.runtime import Runtime
from postroom.services.sync_connect import IncomingAccount, incoming_account
from postroom.services.sync_context import FetchContext, FetchOptions, Progress, fetched_account
from postroom.services.sync_imap import sync_imap_account
from postroom.services.sync_pop3 import sync_pop3_account
from postroom.services.sync_progress import SyncPhase, set_progress
from postroom.services.sync_schedule import (
    fetchable,
    record_fetch_done,
    record_fetch_failed,
    server_words,
)

log = logging.getLogger("postroom.sync")
# A fetch writes files in one thread and inserts rows in another while the event loop reads
# the server: each file costs three system calls, and after each the writing thread waits for
# the GIL, by default up to 5 ms, behind threads busy in Python. 0.5 ms took a 10,000-message
# first sync from 8.1–8.4 s to 5.3–5.4 s on these machines (docs/decisions.md).
IO_SWITCH_INTERVAL = 0.0005


@dataclass(frozen=True)
class FetchResult:
    account_id: int
    ran: bool  # False: another fetch holds the account, or it is not to be fetched
    new_messages: int = 0
    error: str | None = None  # the server's words when the fetch failed


def _begin(
    runtime: Runtime, company_id: int, account_id: int, owner: str, lease: float
) -> tuple[IncomingAccount, bool, datetime] | None:
    """Take the lease; the account's settings, whether this is the first import, the start."""
    with runtime.tenant(company_id) as session:
        account = fetched_account(session, account_id)
        if account is None or not fetchable(account):
            return None
        state = sync_lock.ensure_state(session, account)
        if not sync_lock.try_acquire(
            session, account_id=account_id, owner=owner, lease_seconds=lease
        ):
            return None
        incoming = incoming_account(runtime, account)
        if incoming is None:
            sync_lock.release(session, account_id=account_id, owner=owner)
            return None
        started = utcnow()
        state.last_fetch_started_at = started
        set_progress(state, SyncPhase.CONNECTING, done=0, total=0)
        return incoming, state.first_import_done_at is None, started


def _finish(ctx: FetchContext, error: BaseException | None) -> None:
    with ctx.runtime.tenant(ctx.company_id) as session:
        account = fetched_account(session, ctx.account_id)
        state = session.get(MailSyncState, ctx.account_id)
        if account is not None and state is not None:
            if error is None:
                record_fetch_done(
                    account, state, started_at=ctx.started_at, new_messages=ctx.stored
                )
            else:
                record_fetch_failed(
                    account,
                    state,
                    started_at=ctx.started_at,
                    error=error,
                    auth_failure_limit=ctx.runtime.settings.account_auth_failure_limit,
                )
        sync_lock.release(session, account_id=ctx.account_id, owner=ctx.owner)


def _release(ctx: FetchContext) -> None:
    with ctx.runtime.tenant(ctx.company_id) as session:
        sync_lock.release(session, account_id=ctx.account_id, owner=ctx.owner)


def index_account(ctx: FetchContext) -> int:
    """Make the account's new messages searchable (body text, snippet, attachments)."""
    indexed = 0
    while True:
        with ctx.transaction() as session:
            count = index_pending(
                session,
                ctx.store,
                limit=ctx.options.index_batch,
                account_id=ctx.account_id,
                processes=ctx.options.parse_processes,
            )
            indexed += count
            if count:
                ctx.done, ctx.total = indexed, max(ctx.total, indexed)
                ctx.progress(session, SyncPhase.INDEXING)
        if count < ctx.options.index_batch:
            return indexed


async def _keep_lease(ctx: FetchContext) -> None:
    """Renew the lease between batches too (a long download of one big batch)."""
    while True:
        await asyncio.sleep(ctx.options.lease_seconds / 3)
        try:
            await asyncio.to_thread(_renew, ctx)
        except sync_lock.LockLostError:
            log.warning("fetch lock lost", extra={"account_id": ctx.account_id})
            return


def _renew(ctx: FetchContext) -> None:
    with ctx.runtime.tenant(ctx.company_id) as session:
        sync_lock.renew(
            session,
            account_id=ctx.account_id,
            owner=ctx.owner,
            lease_seconds=ctx.options.lease_seconds,
        )


def apply_rules(ctx: FetchContext) -> None:
    """The account's rules for the new mail this fetch (or an interrupted one) stored."""
    limit = ctx.options.index_batch
    while True:
        with ctx.transaction() as session:
            account = fetched_account(session, ctx.account_id)
            if account is None:
                return
            if run_pending_rules(ctx.runtime, session, account, limit=limit) < limit:
                return


async def _sync(ctx: FetchContext) -> None:
    if ctx.account.protocol is IncomingProtocol.IMAP:
        await sync_imap_account(ctx)
    else:
        await sync_pop3_account(ctx)


async def _index(ctx: FetchContext) -> None:
    """Indexing problems never count as a failed fetch: the mail is stored and listed; what
    is not indexed now is picked up by the next fetch."""
    try:
        await asyncio.to_thread(index_account, ctx)
    except sync_lock.LockLostError:
        raise
    except Exception:
        log.exception("indexing new mail failed", extra={"account_id": ctx.account_id})


def new_owner(worker_id: str) -> str:
    """The lease holder's name: the worker and this one fetch."""
    return f"{worker_id}:{secrets.token_hex(4)}"


async def run_fetch(
    runtime: Runtime,
    *,
    company_id: int,
    account_id: int,
    worker_id: str,
    options: FetchOptions | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> FetchResult:
    """Fetch the account now if no one else is; failures are recorded on the account (its
    last error in the server's words) and back off its schedule, never raised."""
    options = options or FetchOptions.from_settings(runtime.settings)
    if sys.getswitchinterval() > IO_SWITCH_INTERVAL:
        sys.setswitchinterval(IO_SWITCH_INTERVAL)
    owner = new_owner(worker_id)
    begun = await asyncio.to_thread(
        _begin, runtime, company_id, account_id, owner, options.lease_seconds
    )
    if begun is None:
        return FetchResult(account_id, ran=False)
    incoming, history, started = begun
    ctx = FetchContext(runtime, incoming, owner, options, history, started, on_progress)
    renewer = asyncio.create_task(_keep_lease(ctx))
    error: BaseException | None = None
    try:
        await _sync(ctx)
        await asyncio.to_thread(apply_rules, ctx)
        await _index(ctx)
    except sync_lock.LockLostError:
        log.warning("fetch taken over by another worker", extra={"account_id": account_id})
        return FetchResult(account_id, ran=True, new_messages=ctx.stored, error="lock lost")
    except (PostroomError, OSError, TimeoutError) as exc:
        error = exc
    except Exception as exc:  # a bug must not leave the account locked or unexplained
        log.exception("fetch failed unexpectedly", extra={"account_id": account_id})
        error = exc
    except asyncio.CancelledError:
        await asyncio.shield(asyncio.to_thread(_release, ctx))
        raise
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
    await asyncio.to_thread(_finish, ctx, error)
    if error is not None:
        log.info(
            "fetch failed",
            extra={"account_id": account_id, "error": server_words(error), "stored": ctx.stored},
        )
        return FetchResult(account_id, ran=True, new_messages=ctx.stored, error=server_words(error))
    log.info("fetch done", extra={"account_id": account_id, "stored": ctx.stored})
    return FetchResult(account_id, ran=True, new_messages=ctx.stored)
