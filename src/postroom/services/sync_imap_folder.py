"""Mirroring one IMAP folder: what changed since last time, then what is new.

Changes to known messages come the cheapest way the server allows: with QRESYNC (RFC 7162)
the EXAMINE answer itself lists expunged UIDs (VANISHED) and changed flags; with CONDSTORE
a FETCH … (CHANGEDSINCE) gives the flags, and the message count tells whether anything was
expunged; with neither, the flags of every message are compared. A changed UIDVALIDITY
voids every stored UID: the folder is mirrored again, matching what is already stored by
Message-ID and size (before download) or by content (after), so nothing is duplicated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from typing import TypeVar

from postroom.mail.errors import ProtocolError
from postroom.mail.imap_sync_client import (
    Capabilities,
    FlagState,
    Known,
    Listing,
    Selected,
    examine,
    uid_flags,
    uid_message_ids,
    uid_sizes,
)
from postroom.services.sync_context import FetchContext
from postroom.services.sync_folders import FolderRef
from postroom.services.sync_imap_download import Connections, download
from postroom.services.sync_imap_store import (
    FolderEnd,
    apply_changes,
    begin_resync,
    count_stored,
    delete_blobs,
    drop_stale,
    existing_uids,
    finish_folder,
    has_stale_rows,
    rekey_by_message_id,
)

ResultT = TypeVar("ResultT")


def unchanged(folder: FolderRef, caps: Capabilities) -> bool:
    """Whether STATUS proves the folder unchanged since its last sync, so it needs no EXAMINE:
    same UIDVALIDITY, no new UID, same count and (CONDSTORE) the same HIGHESTMODSEQ — any
    flag change or expunge raises that (RFC 7162 §3.1.1)."""
    status = folder.status
    if status is None or not caps.condstore or folder.highest_modseq is None:
        return False
    return (
        status.uidvalidity == folder.uidvalidity
        and status.uidnext is not None
        and status.uidnext == folder.uidnext
        and status.messages == folder.server_message_count
        and status.highest_modseq == folder.highest_modseq
    )


def _known(folder: FolderRef, caps: Capabilities) -> Known | None:
    """What QRESYNC can start from: a complete earlier sync of the same UIDVALIDITY."""
    status = folder.status
    if not caps.qresync or folder.uidvalidity is None or folder.highest_modseq is None:
        return None
    if status is not None and status.uidvalidity != folder.uidvalidity:
        return None
    return Known(folder.uidvalidity, folder.highest_modseq)


def _wanted(item: Listing, since: date | None) -> bool:
    """A7 "only mail received after a date": the server's arrival time (INTERNALDATE)."""
    if since is None or item.internal_date is None:
        return True
    return item.internal_date >= datetime.combine(since, time.min, tzinfo=UTC)


def estimate_new(folder: FolderRef) -> int:
    """New messages the folder's STATUS suggests, for the progress total before its listing."""
    status = folder.status
    if status is None or status.messages is None:
        return 0
    if status.uidvalidity != folder.uidvalidity or folder.server_message_count is None:
        return status.messages
    return max(0, status.messages - folder.server_message_count)


async def sync_folder(ctx: FetchContext, conns: Connections, folder: FolderRef) -> None:
    """Bring one folder in step with the server."""
    if not folder.selectable or unchanged(folder, conns.caps):
        return
    timeout = ctx.options.timeout_seconds
    known = _known(folder, conns.caps)
    async with asyncio.timeout(timeout):
        selected = await examine(conns.primary, conns.caps, folder.raw_name, known)
    if not selected.uidvalidity:
        raise ProtocolError(f"The server gave no UIDVALIDITY for the folder {folder.path}.")
    synced = folder.synced_uid
    if folder.uidvalidity is not None and selected.uidvalidity != folder.uidvalidity:
        await asyncio.to_thread(begin_resync, ctx, folder.id, selected.uidvalidity)
        synced, known = 0, None
    validity = selected.uidvalidity
    # Rows of another UIDVALIDITY exist only while a resync is unfinished; a finished sync
    # (HIGHESTMODSEQ recorded) of the same UIDVALIDITY proves there are none.
    finished = folder.highest_modseq is not None and folder.uidvalidity == validity
    stale = not finished and await asyncio.to_thread(has_stale_rows, ctx, folder.id, validity)
    # What is stored beyond the checkpoint is read while the server lists what is new (a
    # resync re-keys rows first, so it reads them after).
    stored = None if stale else _in_thread(existing_uids, ctx, folder.id, validity, synced)
    try:
        async with asyncio.timeout(timeout):
            listing = await uid_sizes(conns.primary, synced + 1)
        if synced and not stale:
            await _changes(
                ctx, conns, folder, selected, synced, len(listing), qresync=known is not None
            )
        if stale:
            async with asyncio.timeout(timeout):
                headers = await uid_message_ids(conns.primary)
            await asyncio.to_thread(rekey_by_message_id, ctx, folder.id, validity, headers)
            stored = _in_thread(existing_uids, ctx, folder.id, validity, synced)
        have = await stored if listing and stored is not None else set()
    finally:
        if stored is not None:  # awaited, not needed after all, or abandoned by an error
            stored.cancel()
            stored.add_done_callback(_retrieve)
    since = ctx.account.fetch_since
    todo = [(i.uid, i.size) for i in listing if i.uid not in have and _wanted(i, since)]
    ctx.total += len(todo) - estimate_new(folder)  # the estimate was counted in at the start
    await download(ctx, conns, folder, validity, todo, stale=stale)
    if stale:
        keys = await asyncio.to_thread(drop_stale, ctx, folder.id, validity)
        await asyncio.to_thread(delete_blobs, ctx, keys)
    last = max([synced, *(i.uid for i in listing), (selected.uidnext or 1) - 1])
    end = FolderEnd(validity, selected.uidnext, selected.highest_modseq, selected.exists, last)
    await asyncio.to_thread(finish_folder, ctx, folder.id, end)


async def _changes(
    ctx: FetchContext,
    conns: Connections,
    folder: FolderRef,
    selected: Selected,
    synced: int,
    new_count: int,
    *,
    qresync: bool,
) -> None:
    """Flag changes and expunges of the messages up to the checkpoint."""
    session, caps = conns.primary, conns.caps
    flags: Sequence[FlagState] = ()
    vanished: Sequence[int] = ()
    present: set[int] | None = None
    async with asyncio.timeout(ctx.options.timeout_seconds):
        if qresync:  # new messages are among the changes too; they come with their flags
            flags = [state for state in selected.changed if state.uid <= synced]
            vanished = [uid for uid in selected.vanished if uid <= synced]
        elif caps.condstore and folder.highest_modseq is not None:
            if selected.highest_modseq != folder.highest_modseq:
                flags = await uid_flags(session, synced, changed_since=folder.highest_modseq)
            stored = await asyncio.to_thread(
                count_stored, ctx, folder.id, selected.uidvalidity, synced
            )
            if selected.exists - new_count != stored:  # something was expunged
                present = {state.uid for state in await uid_flags(session, synced)}
        else:
            flags = await uid_flags(session, synced)
            present = {state.uid for state in flags}
    if not flags and not vanished and present is None:
        return
    keys = await asyncio.to_thread(
        apply_changes,
        ctx,
        folder.id,
        selected.uidvalidity,
        flags=flags,
        vanished=vanished,
        present=present,
        up_to_uid=synced,
    )
    await asyncio.to_thread(delete_blobs, ctx, keys)


def _in_thread(function: Callable[..., ResultT], *args: object) -> asyncio.Task[ResultT]:
    return asyncio.create_task(asyncio.to_thread(function, *args))


def _retrieve(task: asyncio.Task[object]) -> None:
    """Collect an abandoned read's outcome (a failure is the caller's error already)."""
    if not task.cancelled():
        task.exception()
