"""Copies of sent mail in the account's IMAP Sent folder (C4), appended once, retried apart."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from postroom.db.base import utcnow
from postroom.enums import MessageStatus, SentCopyStatus
from postroom.mail import imap_client
from postroom.mail.errors import MailError
from postroom.mail.imap_probe import ImapSession
from postroom.services.imap_access import (
    ImapAccount,
    login,
    logout,
    read_imap_account,
    record_imap_failure,
)
from postroom.services.outbox_tables import BODIES, MESSAGES
from postroom.services.runtime import Runtime

log = logging.getLogger("postroom.sent_copies")
B = BODIES.c
M = MESSAGES.c
# After this long without success the copy is given up (the message itself was sent).
GIVE_UP_AFTER = timedelta(days=3)
SEEN = "\\Seen"


@dataclass(frozen=True)
class PendingCopy:
    id: int
    company_id: int
    account_id: int | None
    message_id: str
    sent_at: datetime | None


def _pending(runtime: Runtime, limit: int) -> list[PendingCopy]:
    query = (
        select(M.id, M.company_id, M.account_id, M.message_id, M.sent_at)
        .where(
            M.sent_copy_status == SentCopyStatus.PENDING,
            # Set when the message is queued; the copy is due once the message went out.
            M.status.in_((MessageStatus.SENT, MessageStatus.BOUNCED)),
        )
        .order_by(M.id)
        .limit(limit)
    )
    with runtime.platform() as session:
        return [PendingCopy(*row) for row in session.connection().execute(query)]


def _mime(runtime: Runtime, copy: PendingCopy) -> bytes | None:
    with runtime.tenant(copy.company_id) as session:
        query = select(B.mime).where(B.message_id == copy.id, B.company_id == copy.company_id)
        found = session.connection().execute(query).scalar()
    return bytes(found) if found is not None else None


def _mark(runtime: Runtime, company_id: int, ids: list[int], status: SentCopyStatus) -> None:
    if not ids:
        return
    with runtime.tenant(company_id) as session:
        session.connection().execute(
            update(MESSAGES)
            .where(M.id.in_(ids), M.company_id == company_id)
            .values(sent_copy_status=status)
        )


async def store_sent_copies(runtime: Runtime, *, limit: int = 500) -> int:
    """Append every pending sent copy; returns how many are now in their Sent folder."""
    copies = await asyncio.to_thread(_pending, runtime, limit)
    by_account: dict[tuple[int, int | None], list[PendingCopy]] = defaultdict(list)
    for copy in copies:
        by_account[(copy.company_id, copy.account_id)].append(copy)
    stored = 0
    for (company_id, account_id), items in by_account.items():
        stored += await _store_for_account(runtime, company_id, account_id, items)
    return stored


async def _store_for_account(
    runtime: Runtime, company_id: int, account_id: int | None, items: list[PendingCopy]
) -> int:
    ids = [copy.id for copy in items]
    account = (
        await asyncio.to_thread(read_imap_account, runtime, company_id, account_id)
        if account_id is not None
        else None
    )
    if account is None:  # deleted, or no longer has IMAP: nothing to copy to
        await asyncio.to_thread(_mark, runtime, company_id, ids, SentCopyStatus.NOT_NEEDED)
        return 0
    done: list[int] = []
    try:
        session = await login(runtime, account)
        try:
            folder = await _sent_folder(session, account)
            if folder is None:
                log.warning("no Sent folder for sent copies", extra={"account_id": account_id})
                await asyncio.to_thread(_mark, runtime, company_id, ids, SentCopyStatus.FAILED)
                return 0
            await imap_client.select(session, folder, readonly=True)
            for copy in items:
                await _store_one(runtime, session, folder, copy)
                done.append(copy.id)
        finally:
            await logout(session)
    except (MailError, OSError, TimeoutError) as exc:
        log.warning("sent copy failed", extra={"account_id": account_id, "error": str(exc)})
        await record_imap_failure(runtime, account, exc)
        await asyncio.to_thread(_give_up_old, runtime, company_id, items, done)
    await asyncio.to_thread(_mark, runtime, company_id, done, SentCopyStatus.DONE)
    return len(done)


async def _sent_folder(session: ImapSession, account: ImapAccount) -> str | None:
    if account.sent_folder:
        return account.sent_folder
    return imap_client.sent_folder_of(await imap_client.list_mailboxes(session))


async def _store_one(
    runtime: Runtime, session: ImapSession, folder: str, copy: PendingCopy
) -> None:
    # Already there: the provider files sent mail itself, or an earlier append was not
    # recorded before a crash. Either way, appending again would make a second copy.
    if await imap_client.search_header(session, "Message-ID", f"<{copy.message_id}>"):
        return
    mime = await asyncio.to_thread(_mime, runtime, copy)
    if mime is None:
        return
    await imap_client.append(session, folder, mime, flags=(SEEN,), when=copy.sent_at)


def _give_up_old(
    runtime: Runtime, company_id: int, items: list[PendingCopy], done: list[int]
) -> None:
    """Copies still failing long after the send are marked failed; the rest wait for the
    next run (the message itself is never sent again for this)."""
    limit = utcnow() - GIVE_UP_AFTER
    old = [c.id for c in items if c.id not in done and c.sent_at is not None and c.sent_at < limit]
    _mark(runtime, company_id, old, SentCopyStatus.FAILED)
