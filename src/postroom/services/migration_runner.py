"""Running a mailbox migration (D4): one runner at a time (a lease on the row), resumable.

Each message is uploaded with IMAP APPEND: its raw bytes exactly as first received, its
flags, and its original date as the INTERNALDATE (RFC 3501 §6.3.11): the server's arrival
time if known, else the Date header, else when Postroom stored it. A message whose
Message-ID is already in the target folder is skipped. Each item's outcome is committed
right after its APPEND, so a crash can at most leave one message uploaded but not marked;
the next run finds it by its Message-ID and skips it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from postroom.enums import JobStatus, MigrationItemStatus
from postroom.mail import imap_client, imap_ops
from postroom.mail.errors import ServerRefusedError
from postroom.mail.imap_probe import ImapSession
from postroom.services.imap_access import login, logout, record_imap_failure
from postroom.services.mailbox_server import NETWORK_ERRORS
from postroom.services.migration_jobs import (
    Job,
    Result,
    Target,
    Work,
    company_of,
    due_migrations,
    fail,
    finish,
    load_job,
    next_items,
    record,
    release,
    take_lease,
)
from postroom.services.runtime import Runtime
from postroom.storage.files import StoredBlobMissingError
from postroom.storage.mailstore import MailStore, mail_store_for

log = logging.getLogger("postroom.migration")
COMMAND_SECONDS = 120.0  # one APPEND of a large message on a slow line

# Called with the item id after its APPEND, before its outcome is saved (tests crash here).
AfterAppend = Callable[[int], None]


async def _upload(
    session: ImapSession, store: MailStore, folder: str, work: Work, present: set[str]
) -> Result:
    if work.message_id_header and work.message_id_header in present:
        return Result(MigrationItemStatus.SKIPPED)
    try:
        raw = await asyncio.to_thread(store.read, work.blob_key)
    except StoredBlobMissingError:
        return Result(MigrationItemStatus.FAILED, "The raw message is missing from the store.")
    try:
        async with asyncio.timeout(COMMAND_SECONDS):
            appended = await imap_client.append(
                session, folder, raw, flags=work.flags, when=work.when
            )
    except ServerRefusedError as exc:  # this message only (too large, 8-bit NULs, …)
        return Result(MigrationItemStatus.FAILED, exc.message)
    if work.message_id_header:
        present.add(work.message_id_header)
    return Result(MigrationItemStatus.COPIED, appended=appended, raw=raw)


async def _prepare_folder(session: ImapSession, folder: str) -> tuple[set[str], str | None]:
    """The target folder (created if missing): the Message-IDs already in it, its delimiter."""
    listed = {m.name: m.delimiter for m in await imap_client.list_mailboxes(session)}
    delimiter = listed.get(folder)
    if folder not in listed and folder.upper() != "INBOX":
        await imap_ops.create_mailbox(session, folder)
        delimiter = await imap_ops.hierarchy_delimiter(session)
    return set(await imap_ops.message_ids(session, folder)), delimiter or None


async def _run_items(
    runtime: Runtime,
    job: Job,
    worker_id: str,
    session: ImapSession,
    deadline: float | None,
    after_append: AfterAppend | None,
) -> bool:
    """Upload pending items until none is left (True) or time is up or the job stopped."""
    store = mail_store_for(runtime.settings.data_dir)
    async with asyncio.timeout(COMMAND_SECONDS):
        present, delimiter = await _prepare_folder(session, job.folder)
    target = Target(job.folder, delimiter, store)
    while batch := await asyncio.to_thread(next_items, runtime, job):
        for work in batch:
            if deadline is not None and time.monotonic() > deadline:
                return False
            result = await _upload(session, store, job.folder, work, present)
            if after_append is not None:
                after_append(work.item_id)
            saved = await asyncio.to_thread(record, runtime, job, worker_id, target, work, result)
            if not saved:
                return False
    return True


async def run_migration(
    runtime: Runtime,
    migration_id: int,
    worker_id: str,
    *,
    budget_seconds: float | None = None,
    after_append: AfterAppend | None = None,
) -> JobStatus | None:
    """Work on the migration for up to `budget_seconds`; its status afterwards, or None if
    another runner holds it (or it is finished)."""
    company_id = await asyncio.to_thread(company_of, runtime, migration_id)
    if company_id is None:
        return None
    taken = await asyncio.to_thread(take_lease, runtime, company_id, migration_id, worker_id)
    if not taken:
        return None
    deadline = time.monotonic() + budget_seconds if budget_seconds is not None else None
    try:
        job = await asyncio.to_thread(load_job, runtime, company_id, migration_id)
        return await _run(runtime, job, worker_id, deadline, after_append)
    finally:
        await asyncio.to_thread(release, runtime, company_id, migration_id, worker_id)


async def _run(
    runtime: Runtime,
    job: Job,
    worker_id: str,
    deadline: float | None,
    after_append: AfterAppend | None,
) -> JobStatus:
    if job.imap is None:
        error = "The target account has no IMAP server any more."
        await asyncio.to_thread(fail, runtime, job, worker_id, error, final=True)
        return JobStatus.FAILED
    try:
        async with asyncio.timeout(COMMAND_SECONDS):
            session = await login(runtime, job.imap)
    except NETWORK_ERRORS as exc:
        await record_imap_failure(runtime, job.imap, exc)
        final = isinstance(exc, ServerRefusedError) and exc.command.startswith("login")
        await asyncio.to_thread(fail, runtime, job, worker_id, str(exc), final=final)
        return JobStatus.FAILED if final else JobStatus.RUNNING
    try:
        finished = await _run_items(runtime, job, worker_id, session, deadline, after_append)
    except NETWORK_ERRORS as exc:  # the connection broke: the next run resumes
        log.warning("migration interrupted", extra={"migration_id": job.migration_id})
        await asyncio.to_thread(fail, runtime, job, worker_id, str(exc), final=False)
        return JobStatus.RUNNING
    finally:
        await logout(session)
    if not finished:
        return JobStatus.RUNNING
    return await asyncio.to_thread(finish, runtime, job, worker_id)


async def run_due_migrations(runtime: Runtime, worker_id: str, budget_seconds: float) -> int:
    """The worker's turn: open migrations one after another within the time budget."""
    started = time.monotonic()
    worked = 0
    for migration_id in await asyncio.to_thread(due_migrations, runtime):
        left = budget_seconds - (time.monotonic() - started)
        if left <= 0:
            break
        if await run_migration(runtime, migration_id, worker_id, budget_seconds=left) is not None:
            worked += 1
    return worked
