"""Downloading a folder's new messages: batches cut by count and bytes (the memory bound),
pipelined UID FETCH over one or more connections, one writer storing batch after batch.

The checkpoint (the folder's synced_uid) only moves over batches that are all stored, so
with two connections finishing out of order a crash still resumes without a gap; UIDs stored
beyond the checkpoint are skipped on resume (sync_imap_store.existing_uids).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from postroom.mail.errors import MailError
from postroom.mail.imap_probe import ImapSession, close_session
from postroom.mail.imap_responses import uid_set
from postroom.mail.imap_sync_client import Capabilities, FetchedMessage, examine, fetch_batches
from postroom.services.mail_prepare import PreparedMessage, prepare_stored_task
from postroom.services.parse_pool import run_in_pool
from postroom.services.sync_connect import login_imap
from postroom.services.sync_context import FetchContext
from postroom.services.sync_folders import FolderRef
from postroom.services.sync_imap_store import Batch, commit_batch, incoming, prepare_batch

log = logging.getLogger("postroom.sync")
QUEUED_BATCHES = 2  # fetched batches waiting for the writer, besides those in flight
BATCHES_STORING = 3  # batches between download and commit (each up to the batch's bytes)


def cut_batches(
    todo: Sequence[tuple[int, int]], max_messages: int, max_bytes: int
) -> list[list[int]]:
    """UIDs in batches of at most `max_messages` and `max_bytes` (a bigger message alone)."""
    batches: list[list[int]] = []
    current: list[int] = []
    size = 0
    for uid, length in todo:
        if current and (len(current) >= max_messages or size + length > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(uid)
        size += length
    if current:
        batches.append(current)
    return batches


@dataclass
class Connections:
    """The fetch's IMAP sessions: the main one, and extra ones for big folders."""

    ctx: FetchContext
    caps: Capabilities
    primary: ImapSession
    extra: list[ImapSession] = field(default_factory=list)

    async def extra_for(self, folder: FolderRef, number: int) -> ImapSession | None:
        """Extra session `number` (kept from folder to folder) with `folder` examined; None
        if the server refuses one more connection."""
        try:
            async with asyncio.timeout(self.ctx.options.timeout_seconds):
                if number < len(self.extra):
                    session = self.extra[number]
                else:
                    session = await login_imap(self.ctx.runtime, self.ctx.account)
                    self.extra.append(session)
                await examine(session, self.caps, folder.raw_name)
        except (MailError, OSError, TimeoutError) as exc:
            log.info(
                "extra IMAP connection not available",
                extra={"account_id": self.ctx.account_id, "error": str(exc)},
            )
            return None
        return session

    async def close(self) -> None:
        for session in [*self.extra, self.primary]:
            await close_session(session)
        self.extra.clear()


@dataclass
class _Checkpoint:
    """Which batches are stored; the checkpoint is the last UID of the stored prefix."""

    batches: list[list[int]]
    stored: set[int] = field(default_factory=set)
    prefix: int = 0  # batches[:prefix] are all stored

    def after(self, index: int) -> int | None:
        self.stored.add(index)
        while self.prefix in self.stored:
            self.prefix += 1
        return self.batches[self.prefix - 1][-1] if self.prefix else None


def _raise_first(group: BaseExceptionGroup[BaseException]) -> None:
    """Callers handle MailError and friends, not exception groups: re-raise the first."""
    first = group.exceptions[0]
    if isinstance(first, BaseExceptionGroup):
        _raise_first(first)
    raise first


@dataclass
class _Download:
    """One folder's download: producers (one per connection) and the writer."""

    ctx: FetchContext
    conns: Connections
    folder: FolderRef
    uidvalidity: int
    batches: list[list[int]]
    stale: bool
    queue: asyncio.Queue[tuple[str, list[FetchedMessage]] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUED_BATCHES)
    )

    def __post_init__(self) -> None:
        self.sets = [uid_set(batch) for batch in self.batches]
        self.index_of = {uids: index for index, uids in enumerate(self.sets)}
        self.shared = iter(self.sets)  # the connections take turns taking the next batch
        self.checkpoint = _Checkpoint(self.batches)

    async def produce(self, session: ImapSession) -> None:
        timeout = self.ctx.options.batch_timeout(self.ctx.options.batch_bytes)
        batches = fetch_batches(session, self.shared, modseq=self.conns.caps.condstore)
        try:
            while True:
                async with asyncio.timeout(timeout):
                    item = await anext(batches, None)
                if item is None:
                    return
                await self.queue.put(item)
        finally:
            await batches.aclose()

    async def produce_extra(self, number: int) -> None:
        session = await self.conns.extra_for(self.folder, number)
        if session is not None:
            await self.produce(session)

    async def consume(self) -> None:
        """Store the batches as they come: several at once in different stages (segment
        written, headers parsed, rows inserted), the rows committed in download order."""
        slots = asyncio.Semaphore(BATCHES_STORING)
        async with asyncio.TaskGroup() as group:
            previous: asyncio.Task[None] | None = None
            while (item := await self.queue.get()) is not None:
                await slots.acquire()
                previous = group.create_task(self._store(item, previous, slots))

    async def _store(
        self,
        item: tuple[str, list[FetchedMessage]],
        previous: asyncio.Task[None] | None,
        slots: asyncio.Semaphore,
    ) -> None:
        try:
            uids, messages = item
            prepared = await self._prepare(messages)
            del item, messages  # the bytes are in the store: memory back before the insert
            if previous is not None:
                await previous  # rows go in in order, so the checkpoint never skips a batch
            batch = Batch(prepared, self.checkpoint.after(self.index_of[uids]))
            await asyncio.to_thread(self.commit, batch)
        finally:
            slots.release()

    async def _prepare(self, messages: list[FetchedMessage]) -> list[PreparedMessage]:
        """The segment written here; the headers parsed (and the bytes hashed) by a parse
        worker process reading them back from the store, so that the download keeps the GIL
        (services/parse_pool.py); small batches, or no pool, in a thread here."""
        ctx, processes = self.ctx, self.ctx.options.parse_processes
        if not messages:  # its messages came with the previous command's answer (pipelining)
            return []
        if processes < 1 or len(messages) < ctx.options.headers_in_pool_min_batch:
            return await asyncio.to_thread(prepare_batch, ctx, self.uidvalidity, messages)
        store = ctx.store
        written = await asyncio.to_thread(store.write_many, [m.raw for m in messages])
        items = incoming(self.uidvalidity, messages, with_bytes=False)
        task = (store.root, written.keys, items)
        # The disk catches up (fsync) while the workers parse: the rows wait for both.
        durable = asyncio.create_task(asyncio.to_thread(store.make_durable, written))
        try:
            return await run_in_pool(prepare_stored_task, task, processes)
        finally:
            await durable

    def commit(self, batch: Batch) -> int:
        folder = self.folder
        return commit_batch(
            self.ctx, folder.id, self.uidvalidity, folder.path, batch, stale=self.stale
        )

    async def run(self, extra: int) -> None:
        async with asyncio.TaskGroup() as group:
            producers = [group.create_task(self.produce(self.conns.primary))]
            producers += [group.create_task(self.produce_extra(n)) for n in range(extra)]
            group.create_task(self.consume())
            await asyncio.gather(*producers)
            await self.queue.put(None)


async def download(
    ctx: FetchContext,
    conns: Connections,
    folder: FolderRef,
    uidvalidity: int,
    todo: Sequence[tuple[int, int]],
    *,
    stale: bool,
) -> None:
    """Fetch and store every (uid, size) of `todo`; a big folder over several connections."""
    options = ctx.options
    batches = cut_batches(todo, options.batch_messages, options.batch_bytes)
    if not batches:
        return
    extra = max(0, options.connections - 1) if len(todo) >= options.parallel_threshold else 0
    try:
        await _Download(ctx, conns, folder, uidvalidity, batches, stale).run(extra)
    except BaseExceptionGroup as errors:
        _raise_first(errors)


async def close_quietly(conns: Connections | None) -> None:
    if conns is not None:
        with contextlib.suppress(Exception):
            await conns.close()
