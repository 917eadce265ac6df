"""The database side of mirroring one IMAP folder: batches, flag changes, expunges, re-keying.

Each function is one transaction of the fetch (`FetchContext.transaction`, which renews the
lease), run in a worker thread. Blob keys of deleted rows are returned so the caller removes
the files after the commit: a crash in between leaves a file without a row, never the reverse.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from postroom.db.models_mailbox import MailFolder, MailMessage, MailPurged
from postroom.mail.imap_sync_client import FetchedMessage, FlagState
from postroom.mail.parse import parse_message
from postroom.services.mail_ingest import apply_flags, insert_prepared
from postroom.services.mail_prepare import IncomingMessage, PreparedMessage, prepare_incoming
from postroom.services.sync_context import FetchContext, fetched_account
from postroom.services.sync_folders import local_count
from postroom.services.sync_progress import SyncPhase

_CHUNK = 500  # ids per IN (…) list


class FolderGoneError(LookupError):
    """The folder was deleted in Postroom while it was being synced; skip it this time."""


def _folder(session: Session, folder_id: int) -> MailFolder:
    folder = session.get(MailFolder, folder_id)
    if folder is None:
        raise FolderGoneError(folder_id)
    return folder


def _chunks(items: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def existing_uids(ctx: FetchContext, folder_id: int, uidvalidity: int, above: int) -> set[int]:
    """UIDs above the checkpoint not to download: stored already (a batch committed after a
    gap before a crash), or purged in Postroom while the server keeps its copy (tombstones)."""
    with ctx.runtime.tenant(ctx.company_id) as session:
        found: set[int] = set()
        for table in (MailMessage, MailPurged):
            found.update(
                uid
                for uid in session.scalars(
                    select(table.uid).where(
                        table.folder_id == folder_id,
                        table.uidvalidity == uidvalidity,
                        table.uid > above,
                    )
                )
                if uid is not None
            )
        return found


def incoming(
    uidvalidity: int, messages: Sequence[FetchedMessage], *, with_bytes: bool = True
) -> list[IncomingMessage]:
    """The fetched messages as the store and parser take them; `with_bytes=False` for a
    batch whose bytes are in its segment already (a parse worker reads them from there)."""
    return [
        IncomingMessage(
            raw=m.raw if with_bytes else b"",
            uid=m.uid,
            uidvalidity=uidvalidity,
            flags=m.flags,
            internal_date=m.internal_date,
            modseq=m.modseq,
        )
        for m in messages
    ]


def prepare_batch(
    ctx: FetchContext, uidvalidity: int, messages: Sequence[FetchedMessage]
) -> list[PreparedMessage]:
    """Bytes to the store and headers parsed, outside any transaction (see insert_prepared)."""
    return prepare_incoming(ctx.store, incoming(uidvalidity, messages))


@dataclass(frozen=True)
class Batch:
    prepared: Sequence[PreparedMessage]
    checkpoint: int | None  # every UID up to this is now stored (None: no progress yet)


def commit_batch(
    ctx: FetchContext, folder_id: int, uidvalidity: int, path: str, batch: Batch, *, stale: bool
) -> int:
    """Add the batch's rows and move the folder's checkpoint, in one transaction."""
    unused: list[str] = []
    with ctx.transaction() as session:
        folder = _folder(session, folder_id)
        account = fetched_account(session, ctx.account_id)
        assert account is not None
        prepared = batch.prepared
        if stale:
            prepared, unused = _rekey_by_content(session, folder, prepared)
        insert_prepared(
            session, account, folder, prepared, from_history=ctx.from_history, returning=False
        )
        folder.uidvalidity = uidvalidity
        if batch.checkpoint is not None:
            folder.synced_uid = max(folder.synced_uid, batch.checkpoint)
        if prepared and account.first_fetched_at is None:
            account.first_fetched_at = datetime.now(UTC)  # A4: the protocol is fixed now
        ctx.stored += len(prepared)
        ctx.done += len(batch.prepared)
        ctx.progress(session, SyncPhase.FETCHING, path)
    delete_blobs(ctx, unused)
    return len(prepared)


def _rekey_by_content(
    session: Session, folder: MailFolder, prepared: Sequence[PreparedMessage]
) -> tuple[list[PreparedMessage], list[str]]:
    """After a UIDVALIDITY change: a downloaded message whose bytes equal a row of the old
    UIDVALIDITY takes that row over (same id, so links to it survive) and its new copy of
    the bytes is not needed; the rest is new."""
    digests = {p.values["content_sha256"]: p for p in prepared}
    old = session.scalars(
        select(MailMessage).where(
            MailMessage.folder_id == folder.id,
            MailMessage.uidvalidity != folder.uidvalidity,
            MailMessage.content_sha256.in_(list(digests)),
        )
    ).all()
    taken: dict[str, PreparedMessage] = {}
    for row in old:
        match = digests.get(row.content_sha256)
        if match is None or row.content_sha256 in taken:
            continue
        taken[row.content_sha256] = match
        values = match.values
        row.uidvalidity, row.uid, row.modseq = (
            values["uidvalidity"],
            values["uid"],
            values["modseq"],
        )
        for column in ("seen", "flagged", "answered", "draft", "keywords"):
            setattr(row, column, values[column])
    for tombstone in session.scalars(
        select(MailPurged).where(
            MailPurged.folder_id == folder.id,
            MailPurged.uidvalidity != folder.uidvalidity,
            MailPurged.content_sha256.in_([d for d in digests if d not in taken]),
        )
    ):  # purged in Postroom, kept on the server: it stays purged under its new UID
        match = digests[tombstone.content_sha256]
        taken[tombstone.content_sha256] = match
        tombstone.uidvalidity, tombstone.uid = match.values["uidvalidity"], match.values["uid"]
    kept = [p for digest, p in digests.items() if digest not in taken]
    return kept, [p.key for p in taken.values()]


def count_stored(ctx: FetchContext, folder_id: int, uidvalidity: int, up_to_uid: int) -> int:
    with ctx.runtime.tenant(ctx.company_id) as session:
        return local_count(session, folder_id, uidvalidity, up_to_uid)


def has_stale_rows(ctx: FetchContext, folder_id: int, uidvalidity: int) -> bool:
    """Whether rows (or tombstones) of another UIDVALIDITY wait to be matched or dropped."""
    with ctx.runtime.tenant(ctx.company_id) as session:
        for table in (MailMessage, MailPurged):
            found = session.scalar(
                select(table.id)
                .where(table.folder_id == folder_id, table.uidvalidity != uidvalidity)
                .limit(1)
            )
            if found is not None:
                return True
        return False


def begin_resync(ctx: FetchContext, folder_id: int, uidvalidity: int) -> None:
    """The server's UIDVALIDITY changed (RFC 3501 §2.3.1.1): every stored UID is void. The
    rows stay (as "stale") until they are matched to the new UIDs or the resync ends."""
    with ctx.transaction() as session:
        folder = _folder(session, folder_id)
        folder.uidvalidity = uidvalidity
        folder.synced_uid = 0
        folder.highest_modseq = None
        folder.uidnext = None


def _message_id(header: bytes) -> str | None:
    return parse_message(header.rstrip(b"\r\n") + b"\r\n\r\n", with_body=False).message_id


def rekey_by_message_id(
    ctx: FetchContext, folder_id: int, uidvalidity: int, listing: Sequence[tuple[int, int, bytes]]
) -> int:
    """Match stale rows to the server's messages by Message-ID and size, without downloading
    them again; returns how many were matched. Message-ID alone is never enough (two
    messages can share one), the exact size must agree too."""
    with ctx.transaction() as session:
        stale = session.scalars(
            select(MailMessage)
            .where(MailMessage.folder_id == folder_id, MailMessage.uidvalidity != uidvalidity)
            .order_by(MailMessage.uid)
        ).all()
        waiting: dict[tuple[str, int], list[MailMessage]] = defaultdict(list)
        for row in stale:
            if row.message_id_header:
                waiting[(row.message_id_header, row.size)].append(row)
        matched = 0
        for uid, size, header in listing:
            message_id = _message_id(header)
            rows = waiting.get((message_id or "", size))
            if rows:
                row = rows.pop(0)
                row.uidvalidity, row.uid = uidvalidity, uid
                matched += 1
        return matched


def drop_stale(ctx: FetchContext, folder_id: int, uidvalidity: int) -> list[str]:
    """The end of a resync: rows of the old UIDVALIDITY nobody matched are gone from the server."""
    with ctx.transaction() as session:
        keys = list(
            session.scalars(
                select(MailMessage.blob_key).where(
                    MailMessage.folder_id == folder_id, MailMessage.uidvalidity != uidvalidity
                )
            )
        )
        for table in (MailMessage, MailPurged):  # tombstones of messages gone for good too
            session.execute(
                delete(table)
                .where(table.folder_id == folder_id, table.uidvalidity != uidvalidity)
                .execution_options(synchronize_session=False)
            )
        return keys


def apply_changes(
    ctx: FetchContext,
    folder_id: int,
    uidvalidity: int,
    *,
    flags: Sequence[FlagState],
    vanished: Sequence[int] = (),
    present: set[int] | None = None,
    up_to_uid: int,
) -> list[str]:
    """Flag changes and expunges made by other clients; returns the blob keys to delete.

    `vanished` names expunged UIDs (QRESYNC); `present`, when given, is every UID the server
    still has up to `up_to_uid`, and any stored UID not in it was expunged."""
    with ctx.transaction() as session:
        by_uid = {state.uid: state for state in flags}
        rows = _rows(session, folder_id, uidvalidity, by_uid, present, up_to_uid)
        gone = set(vanished)
        for row in rows:
            if row.uid is None:
                continue
            if present is not None and row.uid not in present:
                gone.add(row.uid)
            elif (state := by_uid.get(row.uid)) is not None:
                apply_flags(row, state.flags)
                row.modseq = state.modseq or row.modseq
        return _delete_uids(session, folder_id, uidvalidity, sorted(gone))


def _rows(
    session: Session,
    folder_id: int,
    uidvalidity: int,
    by_uid: dict[int, FlagState],
    present: set[int] | None,
    up_to_uid: int,
) -> Sequence[MailMessage]:
    where = [MailMessage.folder_id == folder_id, MailMessage.uidvalidity == uidvalidity]
    if present is not None:  # a full comparison: every stored message up to the checkpoint
        return session.scalars(
            select(MailMessage).where(*where, MailMessage.uid <= up_to_uid)
        ).all()
    found: list[MailMessage] = []
    for part in _chunks(sorted(by_uid)):
        found += session.scalars(select(MailMessage).where(*where, MailMessage.uid.in_(part))).all()
    return found


def _delete_uids(
    session: Session, folder_id: int, uidvalidity: int, uids: Sequence[int]
) -> list[str]:
    keys: list[str] = []
    for part in _chunks(uids):
        where = (
            MailMessage.folder_id == folder_id,
            MailMessage.uidvalidity == uidvalidity,
            MailMessage.uid.in_(part),
        )
        keys += session.scalars(select(MailMessage.blob_key).where(*where))
        session.execute(
            delete(MailMessage).where(*where).execution_options(synchronize_session=False)
        )
    return keys


@dataclass(frozen=True)
class FolderEnd:
    uidvalidity: int
    uidnext: int | None
    highest_modseq: int | None
    exists: int
    last_uid: int  # every UID up to this has been looked at (stored or skipped on purpose)


def finish_folder(ctx: FetchContext, folder_id: int, end: FolderEnd) -> None:
    """The folder is in step with the server as of its EXAMINE: the checkpoints move."""
    with ctx.transaction() as session:
        folder = _folder(session, folder_id)
        folder.uidvalidity = end.uidvalidity
        folder.uidnext = end.uidnext
        folder.highest_modseq = end.highest_modseq
        folder.server_message_count = end.exists
        folder.synced_uid = max(folder.synced_uid, end.last_uid)
        folder.last_synced_at = datetime.now(UTC)


def delete_blobs(ctx: FetchContext, keys: Iterable[str]) -> None:
    for key in keys:
        ctx.store.delete(key)
