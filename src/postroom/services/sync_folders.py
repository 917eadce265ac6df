"""The server's folder list mirrored into mail_folders: roles, renames, vanished folders (D2)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from postroom.db.models import Account
from postroom.db.models_mailbox import MailFolder, MailMessage
from postroom.enums import FolderRole
from postroom.mail.imap_client import DRAFTS_NAMES
from postroom.mail.imap_probe import SENT_NAMES
from postroom.mail.imap_sync_client import FolderStatus, ServerFolder

# RFC 6154 special-use attributes; \All and \Flagged are views, not roles of their own.
SPECIAL_USE = {
    "\\SENT": FolderRole.SENT,
    "\\DRAFTS": FolderRole.DRAFTS,
    "\\TRASH": FolderRole.TRASH,
    "\\JUNK": FolderRole.JUNK,
    "\\ARCHIVE": FolderRole.ARCHIVE,
}
# When the server marks no folder: the names clients and providers use (Outlook/Exchange,
# Apple, Gmail, Courier-style "INBOX.", Polish providers and Polish Outlook).
ROLE_NAMES: dict[FolderRole, tuple[str, ...]] = {
    FolderRole.SENT: SENT_NAMES,
    FolderRole.DRAFTS: (*DRAFTS_NAMES, "Wersje robocze"),
    FolderRole.TRASH: (
        "Trash", "Deleted Items", "Deleted Messages", "Deleted", "Bin", "Kosz",
        "Elementy usunięte", "Usunięte", "Usunięte elementy", "INBOX.Trash", "INBOX/Trash",
        "[Gmail]/Trash", "[Gmail]/Kosz",
    ),
    FolderRole.JUNK: (
        "Junk", "Spam", "Junk E-mail", "Junk Email", "Bulk Mail", "Wiadomości-śmieci",
        "Niechciana poczta", "INBOX.Junk", "INBOX.Spam", "[Gmail]/Spam",
    ),
    FolderRole.ARCHIVE: ("Archive", "Archives", "Archiwum", "INBOX.Archive", "INBOX/Archive"),
}  # fmt: skip


@dataclass(frozen=True)
class FolderRef:
    """A mirrored folder as the fetch sees it, detached from any database session."""

    id: int
    path: str
    raw_name: str  # as the server spells it (modified UTF-7), for commands
    role: FolderRole
    selectable: bool
    uidvalidity: int | None
    uidnext: int | None
    synced_uid: int
    highest_modseq: int | None
    server_message_count: int | None
    status: FolderStatus | None  # from LIST-STATUS / STATUS, None if the server gave none


def leaf(path: str, delimiter: str | None) -> str:
    return path.rsplit(delimiter, 1)[-1] if delimiter else path


def _by_name(folders: Sequence[ServerFolder], names: Iterable[str]) -> ServerFolder | None:
    """The first of `names` found, by whole path, then by last part (case-insensitive)."""
    paths = {f.listed.name.casefold(): f for f in folders}
    leaves = {leaf(f.listed.name, f.listed.delimiter).casefold(): f for f in folders}
    wanted = [name.casefold() for name in names]
    for table in (paths, leaves):
        for name in wanted:
            if name in table:
                return table[name]
    return None


def assign_roles(
    folders: Sequence[ServerFolder], *, sent: str | None = None, drafts: str | None = None
) -> dict[str, FolderRole]:
    """Role per raw folder name: INBOX; the account's chosen Sent/Drafts folders (A7); the
    server's special-use flags (RFC 6154); else well-known names. One folder per role."""
    roles: dict[str, FolderRole] = {}
    taken: set[FolderRole] = set()
    usable = [f for f in folders if f.selectable]

    def give(folder: ServerFolder | None, role: FolderRole) -> None:
        if folder is not None and role not in taken and folder.listed.raw_name not in roles:
            roles[folder.listed.raw_name] = role
            taken.add(role)

    give(next((f for f in usable if f.listed.name.upper() == "INBOX"), None), FolderRole.INBOX)
    for chosen, role in ((sent, FolderRole.SENT), (drafts, FolderRole.DRAFTS)):
        if chosen:
            give(next((f for f in usable if f.listed.name == chosen), None), role)
    for folder in usable:
        for flag, role in SPECIAL_USE.items():
            if flag in folder.listed.flags:
                give(folder, role)
    for role, names in ROLE_NAMES.items():
        if role not in taken:
            give(_by_name([f for f in usable if f.listed.raw_name not in roles], names), role)
    return roles


def _renamed(vanished: list[MailFolder], new: list[ServerFolder]) -> dict[str, MailFolder]:
    """New folder (raw name) → the vanished row it is, when exactly one of each shares a
    UIDVALIDITY: a rename made in another client keeps its UIDs (RFC 3501 §6.3.5), so its
    messages need no new download. Folders created in the same second can share one, hence
    "exactly one" and the same message count."""
    found: dict[str, MailFolder] = {}
    for folder in new:
        status = folder.status
        if status is None or status.uidvalidity is None:
            continue
        rows = [row for row in vanished if row.uidvalidity == status.uidvalidity]
        twins = [f for f in new if f.status and f.status.uidvalidity == status.uidvalidity]
        if len(rows) == 1 and len(twins) == 1 and rows[0].server_message_count == status.messages:
            found[folder.listed.raw_name] = rows[0]
    return found


def delete_folder_rows(session: Session, folder_ids: Sequence[int]) -> list[str]:
    """Remove folders and their messages; the blob keys to delete once this commits."""
    if not folder_ids:
        return []
    keys = list(
        session.scalars(select(MailMessage.blob_key).where(MailMessage.folder_id.in_(folder_ids)))
    )
    session.execute(
        delete(MailMessage)
        .where(MailMessage.folder_id.in_(folder_ids))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(MailFolder)
        .where(MailFolder.id.in_(folder_ids))
        .execution_options(synchronize_session=False)
    )
    return keys


def _ref(row: MailFolder, folder: ServerFolder) -> FolderRef:
    return FolderRef(
        id=row.id,
        path=row.path,
        raw_name=folder.listed.raw_name,
        role=row.role,
        selectable=row.selectable,
        uidvalidity=row.uidvalidity,
        uidnext=row.uidnext,
        synced_uid=row.synced_uid,
        highest_modseq=row.highest_modseq,
        server_message_count=row.server_message_count,
        status=folder.status,
    )


@dataclass(frozen=True)
class Mirrored:
    folders: list[FolderRef]  # to sync, INBOX first
    blob_keys: list[str]  # of messages whose folder vanished: delete after the commit
    changed: bool  # anything was written (else the transaction only read)


def mirror_folder_list(
    session: Session, account: Account, server: Sequence[ServerFolder]
) -> Mirrored:
    """Make the account's folders those of the server; the caller commits. Local folders
    (is_local) are Postroom's own and never touched."""
    rows = session.scalars(
        select(MailFolder).where(
            MailFolder.account_id == account.id, MailFolder.is_local.is_(False)
        )
    ).all()
    existing = {row.path: row for row in rows}
    server = list({f.listed.name: f for f in server}.values())  # a folder listed twice
    roles = assign_roles(server, sent=account.sent_folder, drafts=account.drafts_folder)
    new = [f for f in server if f.listed.name not in existing]
    listed_paths = {f.listed.name for f in server}
    vanished = [row for path, row in existing.items() if path not in listed_paths]
    renames = _renamed(vanished, new)
    mirrored: list[tuple[MailFolder, ServerFolder]] = []
    for folder in server:
        row = existing.get(folder.listed.name) or renames.get(folder.listed.raw_name)
        if row is None:
            row = MailFolder(company_id=account.company_id, account_id=account.id)
            session.add(row)
        row.path = folder.listed.name
        row.name = leaf(folder.listed.name, folder.listed.delimiter)
        row.delimiter = folder.listed.delimiter
        row.role = roles.get(folder.listed.raw_name, FolderRole.OTHER)
        row.selectable = folder.selectable
        mirrored.append((row, folder))
    changed = bool(session.new) or any(session.is_modified(row) for row, _ in mirrored)
    session.flush()
    refs = [_ref(row, folder) for row, folder in mirrored]
    gone = [row.id for row in vanished if row not in renames.values()]
    keys = delete_folder_rows(session, gone)
    refs.sort(key=lambda ref: (ref.role is not FolderRole.INBOX, ref.path))
    return Mirrored(refs, keys, changed or bool(gone))


def local_count(session: Session, folder_id: int, uidvalidity: int, up_to_uid: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(MailMessage)
            .where(
                MailMessage.folder_id == folder_id,
                MailMessage.uidvalidity == uidvalidity,
                MailMessage.uid <= up_to_uid,
            )
        )
        or 0
    )
