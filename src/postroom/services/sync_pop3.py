"""Fetching a POP3 account (D1, A7): by UIDL, never twice, leaving copies or deleting them.

Every downloaded UIDL is recorded in pop3_seen_uidls in the transaction that stores the
message, so a message is never downloaded again, not even after it was purged locally.
Without "leave copies on the server", messages are marked with DELE only after their batch
has committed and are removed by the server at QUIT (RFC 1939 §6); if the connection breaks
before, the next fetch deletes them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from sqlalchemy import insert, select, update

from postroom.db.models_mailbox import MailFolder, Pop3SeenUidl
from postroom.enums import FolderRole
from postroom.mail.parse import arrival_date
from postroom.mail.pop3_client import (
    Listed,
    SizeMismatchError,
    close,
    delete,
    headers,
    listing,
    quit_and_commit,
    retrieve,
)
from postroom.mail.pop3_probe import Pop3Session
from postroom.services.mail_ingest import insert_prepared
from postroom.services.mail_prepare import IncomingMessage, PreparedMessage, prepare_incoming
from postroom.services.sync_connect import login_pop3
from postroom.services.sync_context import FetchContext, fetched_account
from postroom.services.sync_progress import SyncPhase

log = logging.getLogger("postroom.sync")
INBOX = "INBOX"
# Smaller than IMAP's: one connection, so storing batch n overlaps only with retrieving n+1.
POP3_BATCH = 100
STORING = 2


def _local_inbox(ctx: FetchContext) -> int:
    """A POP3 account's mail lives in a local INBOX (POP3 has no folders)."""
    with ctx.transaction() as session:
        folder = session.scalar(
            select(MailFolder).where(
                MailFolder.account_id == ctx.account_id, MailFolder.path == INBOX
            )
        )
        if folder is None:
            folder = MailFolder(
                company_id=ctx.company_id,
                account_id=ctx.account_id,
                path=INBOX,
                name=INBOX,
                role=FolderRole.INBOX,
                is_local=True,
            )
            session.add(folder)
            session.flush()
        ctx.progress(session, SyncPhase.FOLDERS)
        return folder.id


def _seen(ctx: FetchContext) -> dict[str, bool]:
    """UIDL → whether the server copy was deleted already."""
    with ctx.runtime.tenant(ctx.company_id) as session:
        rows = session.execute(
            select(Pop3SeenUidl.uidl, Pop3SeenUidl.deleted_on_server).where(
                Pop3SeenUidl.account_id == ctx.account_id
            )
        )
        return {uidl: deleted for uidl, deleted in rows}


def _prepare(ctx: FetchContext, fetched: Sequence[tuple[Listed, bytes]]) -> list[PreparedMessage]:
    """Bytes to the store and headers parsed, outside any transaction."""
    items = [
        IncomingMessage(raw=raw, pop_uidl=listed.uidl, internal_date=arrival_date(raw))
        for listed, raw in fetched
    ]
    return prepare_incoming(ctx.store, items)


def _insert(
    ctx: FetchContext, folder_id: int, uidls: Sequence[str], prepared: Sequence[PreparedMessage]
) -> None:
    """The rows and the UIDLs seen, in one transaction: a message is never downloaded twice."""
    with ctx.transaction() as session:
        folder = session.get(MailFolder, folder_id)
        account = fetched_account(session, ctx.account_id)
        assert folder is not None and account is not None
        history = ctx.from_history
        insert_prepared(session, account, folder, prepared, from_history=history, returning=False)
        seen = [
            {"company_id": ctx.company_id, "account_id": ctx.account_id, "uidl": uidl}
            for uidl in uidls
        ]
        session.execute(insert(Pop3SeenUidl), seen)
        if prepared and account.first_fetched_at is None:
            account.first_fetched_at = datetime.now(UTC)  # A4: the protocol is fixed now
        ctx.stored += len(prepared)
        ctx.done += len(prepared)
        ctx.progress(session, SyncPhase.FETCHING, INBOX)


async def _store(
    ctx: FetchContext,
    folder_id: int,
    fetched: Sequence[tuple[Listed, bytes]],
    previous: asyncio.Task[None] | None,
) -> None:
    """Write one batch's files while the previous batch's rows go in; rows stay in order."""
    prepared = await asyncio.to_thread(_prepare, ctx, fetched)
    if previous is not None:
        await previous
    uidls = [listed.uidl for listed, _ in fetched]
    await asyncio.to_thread(_insert, ctx, folder_id, uidls, prepared)


def _mark_deleted(ctx: FetchContext, uidls: Sequence[str]) -> None:
    with ctx.runtime.tenant(ctx.company_id) as session:
        for start in range(0, len(uidls), 500):
            session.execute(
                update(Pop3SeenUidl)
                .where(
                    Pop3SeenUidl.account_id == ctx.account_id,
                    Pop3SeenUidl.uidl.in_(uidls[start : start + 500]),
                )
                .values(deleted_on_server=True)
                .execution_options(synchronize_session=False)
            )


async def _received_since(
    ctx: FetchContext, session: Pop3Session, todo: list[Listed], since: date
) -> list[Listed]:
    """A7 "only mail received after a date": POP3 gives no arrival time, so each candidate's
    headers are read (TOP n 0) for the topmost Received date, else its Date. Older ones are
    left alone (not downloaded, not deleted) and looked at again next time."""
    limit = datetime.combine(since, time.min, tzinfo=UTC)
    kept: list[Listed] = []
    async with asyncio.timeout(ctx.options.batch_timeout(len(todo) * 4096)):
        async for listed, header in headers(session, todo):
            when = arrival_date(header)
            if when is None or when >= limit:
                kept.append(listed)
    return kept


def _unique(listed: Sequence[Listed]) -> list[Listed]:
    """One entry per UIDL: a server listing one twice must not fail every fetch."""
    found: dict[str, Listed] = {}
    for item in listed:
        found.setdefault(item.uidl, item)
    return list(found.values())


def _batches(todo: Sequence[Listed], messages: int, size: int) -> list[list[Listed]]:
    batches: list[list[Listed]] = []
    current: list[Listed] = []
    total = 0
    for listed in todo:
        if current and (len(current) >= messages or total + listed.size > size):
            batches.append(current)
            current, total = [], 0
        current.append(listed)
        total += listed.size
    return [*batches, current] if current else batches


async def _download(
    ctx: FetchContext, session: Pop3Session, folder_id: int, todo: list[Listed], *, trust: bool
) -> list[Listed]:
    """Retrieve batch after batch while earlier ones are written and inserted (at most
    STORING batches in hand, which bounds the memory)."""
    downloaded: list[Listed] = []
    options = ctx.options
    storing: deque[asyncio.Task[None]] = deque()
    try:
        for batch in _batches(todo, min(options.batch_messages, POP3_BATCH), options.batch_bytes):
            async with asyncio.timeout(options.batch_timeout(sum(m.size for m in batch))):
                fetched = [item async for item in retrieve(session, batch, trust_size=trust)]
            previous = storing[-1] if storing else None
            storing.append(asyncio.create_task(_store(ctx, folder_id, fetched, previous)))
            downloaded += batch
            while len(storing) > STORING or (storing and storing[0].done()):
                await storing.popleft()
        while storing:
            await storing.popleft()
    finally:
        if storing:  # never leave a transaction running behind us
            await asyncio.wait(storing)
    return downloaded


async def _fetch(ctx: FetchContext, folder_id: int, *, trust_size: bool) -> None:
    timeout = ctx.options.timeout_seconds
    async with asyncio.timeout(timeout):
        session = await login_pop3(ctx.runtime, ctx.account)
    try:
        async with asyncio.timeout(timeout):
            listed = _unique(await listing(session))
        seen = await asyncio.to_thread(_seen, ctx)
        todo = [m for m in listed if m.uidl not in seen]
        if ctx.account.fetch_since is not None and todo:
            todo = await _received_since(ctx, session, todo, ctx.account.fetch_since)
        ctx.total = len(todo)
        downloaded = await _download(ctx, session, folder_id, todo, trust=trust_size)
        if ctx.account.leave_on_server:
            await close(session)
            return
        doomed = [m for m in listed if seen.get(m.uidl) is False] + downloaded
        async with asyncio.timeout(timeout):
            await delete(session, [m.number for m in doomed])
            await quit_and_commit(session)
        await asyncio.to_thread(_mark_deleted, ctx, [m.uidl for m in doomed])
    except BaseException:
        await close(session)
        raise


async def sync_pop3_account(ctx: FetchContext) -> None:
    folder_id = await asyncio.to_thread(_local_inbox, ctx)
    try:
        await _fetch(ctx, folder_id, trust_size=True)
    except SizeMismatchError:
        # The server's LIST sizes are not what it sends: again, reading line by line.
        log.warning(
            "POP3 sizes do not match; reading line by line", extra={"account_id": ctx.account_id}
        )
        await _fetch(ctx, folder_id, trust_size=False)
