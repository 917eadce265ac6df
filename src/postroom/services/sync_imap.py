"""Fetching an IMAP account: log in, mirror the folder list, bring each folder in step (D1, D2)."""

from __future__ import annotations

import asyncio
import logging

from postroom.db.models_mailbox import MailSyncState
from postroom.mail.errors import ServerRefusedError
from postroom.mail.imap_probe import close_session
from postroom.mail.imap_sync_client import Capabilities, ServerFolder, enable_qresync, list_folders
from postroom.services import mail_prepare, parse_pool, sync_lock
from postroom.services.sync_connect import login_imap
from postroom.services.sync_context import FetchContext, fetched_account
from postroom.services.sync_folders import FolderRef, mirror_folder_list
from postroom.services.sync_imap_download import Connections, close_quietly
from postroom.services.sync_imap_folder import estimate_new, sync_folder, unchanged
from postroom.services.sync_imap_store import FolderGoneError, delete_blobs
from postroom.services.sync_progress import SyncPhase

log = logging.getLogger("postroom.sync")


def _mirror(
    ctx: FetchContext, server: list[ServerFolder], caps: Capabilities
) -> tuple[list[FolderRef], list[str]]:
    """The folder list in step; a transaction that writes only if something changed (then it
    also renews the lease, so a fetch that lost it changes nothing)."""
    with ctx.runtime.tenant(ctx.company_id) as session:
        account = fetched_account(session, ctx.account_id)
        assert account is not None
        mirrored = mirror_folder_list(session, account, server)
        state = session.get(MailSyncState, ctx.account_id)
        changed = mirrored.changed
        if state is not None and state.supports_idle != caps.idle:
            state.supports_idle, changed = caps.idle, True
        ctx.total = sum(
            estimate_new(ref)
            for ref in mirrored.folders
            if ref.selectable and not unchanged(ref, caps)
        )
        if changed or ctx.total:
            sync_lock.renew(
                session,
                account_id=ctx.account_id,
                owner=ctx.owner,
                lease_seconds=ctx.options.lease_seconds,
            )
            ctx.progress(session, SyncPhase.FOLDERS)
        return mirrored.folders, mirrored.blob_keys


async def sync_imap_account(ctx: FetchContext) -> None:
    """Mirror every folder of the account; a folder the server refuses to open is skipped
    (it may have been deleted since the listing) and tried again next time."""
    timeout = ctx.options.timeout_seconds
    async with asyncio.timeout(timeout):
        session = await login_imap(ctx.runtime, ctx.account)
    conns: Connections | None = None
    try:
        async with asyncio.timeout(timeout):
            caps = await enable_qresync(session)
            conns = Connections(ctx, caps, session)
            server = await list_folders(session, caps)
        refs, keys = await asyncio.to_thread(_mirror, ctx, server, caps)
        if ctx.total >= ctx.options.headers_in_pool_min_batch:
            parse_pool.warm(ctx.options.parse_processes, mail_prepare.__name__)
        await asyncio.to_thread(delete_blobs, ctx, keys)
        for folder in refs:
            try:
                await sync_folder(ctx, conns, folder)
            except FolderGoneError:
                continue
            except ServerRefusedError as exc:
                if exc.command != "EXAMINE":
                    raise
                log.warning(
                    "folder could not be opened",
                    extra={"account_id": ctx.account_id, "folder": folder.path, "error": str(exc)},
                )
    finally:
        if conns is not None:
            await close_quietly(conns)
        else:
            await close_session(session)
