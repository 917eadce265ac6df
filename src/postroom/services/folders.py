"""Folders of an account (D2): listed with counts, created, renamed, moved and deleted.

A change goes to the IMAP server first and is saved only once the server took it, so
Postroom never shows a folder the server does not have. Each change runs in three phases,
as account tests do (services/account_setup.py): a transaction that checks and reads, the
server's part with no transaction open, and a transaction that saves and checks again.
POP3 accounts (and folders the server lost) have local folders only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from postroom.db.models import Account, User
from postroom.db.models_mailbox import MailFolder, MailMessage
from postroom.enums import FolderRole
from postroom.errors import ConflictError, ValidationError
from postroom.mail import imap_ops
from postroom.mail.errors import ServerRefusedError
from postroom.services import accounts
from postroom.services.account_setup import Begin
from postroom.services.imap_access import ImapAccount
from postroom.services.mailbox_access import (
    SPECIAL_ROLES,
    folder_of_account,
    is_below,
    parent_path,
    require_incoming,
    usable_folder,
)
from postroom.services.mailbox_schemas import FolderCreate, FolderUpdate
from postroom.services.mailbox_server import imap_account_of, imap_session
from postroom.services.runtime import Runtime

LOCAL_DELIMITER = "/"
_ROLE_ORDER = {
    role: index
    for index, role in enumerate(
        (
            FolderRole.INBOX,
            FolderRole.DRAFTS,
            FolderRole.SENT,
            FolderRole.ARCHIVE,
            FolderRole.JUNK,
            FolderRole.TRASH,
            FolderRole.OTHER,
        )
    )
}
# RFC 3501 §5.1: "%" and "*" are LIST wildcards and should not be in names; control
# characters cannot be sent in a quoted string.
_FORBIDDEN = {"%", "*"}


@dataclass(frozen=True)
class FolderView:
    folder: MailFolder
    parent_id: int | None
    total: int
    unread: int


def list_folders(session: Session, *, actor: User, account_id: int) -> list[FolderView]:
    """Every folder of an account the actor may see, with message and unread counts."""
    accounts.get_account(session, actor=actor, account_id=account_id)
    folders = list(session.scalars(select(MailFolder).where(MailFolder.account_id == account_id)))
    unread = func.sum(case((MailMessage.seen.is_(False), 1), else_=0))
    counted = session.execute(
        select(MailMessage.folder_id, func.count(), unread)
        .where(MailMessage.account_id == account_id)
        .group_by(MailMessage.folder_id)
    )
    counts = {folder_id: (int(total), int(unseen or 0)) for folder_id, total, unseen in counted}
    by_path = {f.path: f.id for f in folders}
    views = [
        FolderView(
            folder=f,
            parent_id=by_path.get(parent_path(f.path, f.delimiter) or ""),
            total=counts.get(f.id, (0, 0))[0],
            unread=counts.get(f.id, (0, 0))[1],
        )
        for f in folders
    ]
    return sorted(views, key=lambda v: (_ROLE_ORDER[v.folder.role], v.folder.path.casefold()))


def check_name(name: str, delimiter: str | None) -> None:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValidationError.for_field("name", "A folder name cannot hold control characters.")
    if _FORBIDDEN & set(name):
        raise ValidationError.for_field("name", "A folder name cannot hold “%” or “*”.")
    if delimiter and delimiter in name:
        raise ValidationError.for_field(
            "name",
            f"A folder name cannot hold “{delimiter}”: the server separates folder levels "
            "with it. Choose a parent folder instead.",
        )


def _join(parent: str | None, delimiter: str | None, name: str) -> str:
    return f"{parent}{delimiter or LOCAL_DELIMITER}{name}" if parent else name


def _account_delimiter(session: Session, account_id: int) -> str | None:
    found = session.scalars(
        select(MailFolder.delimiter).where(
            MailFolder.account_id == account_id, MailFolder.delimiter.is_not(None)
        )
    ).first()
    return found


def _refuse_taken(session: Session, account_id: int, path: str) -> None:
    taken = session.scalar(
        select(MailFolder.id).where(MailFolder.account_id == account_id, MailFolder.path == path)
    )
    if taken is not None:
        raise ConflictError(f"The folder “{path}” exists already.", code="folder_exists")


def _refuse_special(folder: MailFolder, doing: str) -> None:
    if folder.role in SPECIAL_ROLES:
        raise ConflictError(
            f"“{folder.path}” is the account's {folder.role.value} folder; it cannot be {doing}.",
            code="special_folder",
        )


# Create


@dataclass(frozen=True)
class _Creation:
    account_id: int
    imap: ImapAccount | None  # None: a local folder
    parent: str | None
    delimiter: str | None
    name: str


def create_folder(
    begin: Begin, runtime: Runtime, *, account_id: int, data: FolderCreate
) -> MailFolder:
    with begin() as tx:
        plan = _creation_plan(tx.session, tx.actor, runtime, account_id, data)
    path, delimiter = _join(plan.parent, plan.delimiter, plan.name), plan.delimiter
    if plan.imap is not None:
        path, delimiter = asyncio.run(_create_on_server(runtime, plan))
    with begin() as tx:
        accounts.get_usable_account(tx.session, actor=tx.actor, account_id=account_id)
        return _save_created(tx.session, plan, path, delimiter)


def _creation_plan(
    session: Session, actor: User, runtime: Runtime, account_id: int, data: FolderCreate
) -> _Creation:
    account = accounts.get_usable_account(session, actor=actor, account_id=account_id)
    require_incoming(account)
    parent = folder_of_account(session, data.parent_id, account.id, "parent_id")
    imap = imap_account_of(account, runtime.secret_box)
    local = imap is None or (parent is not None and parent.is_local)
    delimiter = parent.delimiter if parent else _account_delimiter(session, account.id)
    if local:
        delimiter = delimiter or LOCAL_DELIMITER
    check_name(data.name, delimiter)
    under = parent.path if parent else None
    if delimiter is not None:
        _refuse_taken(session, account.id, _join(under, delimiter, data.name))
    return _Creation(account.id, None if local else imap, under, delimiter, data.name)


async def _create_on_server(runtime: Runtime, plan: _Creation) -> tuple[str, str]:
    assert plan.imap is not None
    async with imap_session(runtime, plan.imap, f"create the folder “{plan.name}”") as session:
        delimiter = plan.delimiter or await imap_ops.hierarchy_delimiter(session)
        check_name(plan.name, delimiter)
        path = _join(plan.parent, delimiter, plan.name)
        await imap_ops.create_mailbox(session, path)
    return path, delimiter


def _save_created(
    session: Session, plan: _Creation, path: str, delimiter: str | None
) -> MailFolder:
    existing = session.scalar(
        select(MailFolder).where(MailFolder.account_id == plan.account_id, MailFolder.path == path)
    )
    if existing is not None:  # a fetch mirrored it in the meantime
        return existing
    folder = MailFolder(
        account_id=plan.account_id,
        path=path,
        name=plan.name,
        delimiter=delimiter,
        role=FolderRole.OTHER,
        is_local=plan.imap is None,
    )
    session.add(folder)
    session.flush()
    return folder


# Rename and move


@dataclass(frozen=True)
class _Rename:
    folder_id: int
    imap: ImapAccount | None
    old: str
    new: str
    name: str
    delimiter: str | None


def rename_folder(
    begin: Begin, runtime: Runtime, *, folder_id: int, data: FolderUpdate
) -> MailFolder:
    """A new name and/or parent; subfolders move along (RFC 3501 §6.3.5)."""
    with begin() as tx:
        plan = _rename_plan(tx.session, tx.actor, runtime, folder_id, data)
        if plan is None:
            return usable_folder(tx.session, tx.actor, folder_id)[0]
    if plan.imap is not None:
        asyncio.run(_rename_on_server(runtime, plan))
    with begin() as tx:
        folder, account = usable_folder(tx.session, tx.actor, folder_id)
        _save_renamed(tx.session, account, plan)
        return folder


def _new_parent(
    session: Session, folder: MailFolder, data: FolderUpdate
) -> tuple[str | None, bool]:
    """(the new parent's path, whether it is local) after checking it can take the folder."""
    if "parent_id" not in data.model_fields_set:
        current = parent_path(folder.path, folder.delimiter)
        return current, folder.is_local
    parent = folder_of_account(session, data.parent_id, folder.account_id, "parent_id")
    if parent is None:
        return None, folder.is_local
    if parent.id == folder.id or is_below(parent.path, folder.path, folder.delimiter):
        raise ValidationError.for_field(
            "parent_id", "A folder cannot move into itself or one of its subfolders."
        )
    if parent.is_local != folder.is_local:
        raise ValidationError.for_field(
            "parent_id",
            "A folder on the mail server and one kept only in Postroom cannot be nested.",
        )
    return parent.path, parent.is_local


def _rename_plan(
    session: Session, actor: User, runtime: Runtime, folder_id: int, data: FolderUpdate
) -> _Rename | None:
    if "name" in data.model_fields_set and data.name is None:
        raise ValidationError.for_field("name", "A folder needs a name.")
    if not data.model_fields_set:
        raise ValidationError.for_field("name", "Give a new name, a new parent_id, or both.")
    folder, account = usable_folder(session, actor, folder_id)
    _refuse_special(folder, "renamed or moved")
    name = data.name or folder.name
    check_name(name, folder.delimiter)
    parent, _ = _new_parent(session, folder, data)
    new = _join(parent, folder.delimiter, name)
    if new == folder.path:
        return None
    _refuse_taken(session, account.id, new)
    imap = None if folder.is_local else imap_account_of(account, runtime.secret_box)
    return _Rename(folder.id, imap, folder.path, new, name, folder.delimiter)


async def _rename_on_server(runtime: Runtime, plan: _Rename) -> None:
    assert plan.imap is not None
    doing = f"rename the folder “{plan.old}” to “{plan.new}”"
    async with imap_session(runtime, plan.imap, doing) as session:
        await imap_ops.rename_mailbox(session, plan.old, plan.new)


def _moved_path(path: str, plan: _Rename) -> str | None:
    if path == plan.old:
        return plan.new
    if is_below(path, plan.old, plan.delimiter):
        return plan.new + path[len(plan.old) :]
    return None


def _save_renamed(session: Session, account: Account, plan: _Rename) -> None:
    folders = session.scalars(select(MailFolder).where(MailFolder.account_id == account.id))
    for folder in folders:
        moved = _moved_path(folder.path, plan)
        if moved is None:
            continue
        folder.path = moved
        if folder.id == plan.folder_id:
            folder.name = plan.name
    # The account's settings name folders by path (C4): they follow the rename.
    for setting in ("sent_folder", "drafts_folder"):
        current = getattr(account, setting)
        if current and (moved := _moved_path(current, plan)) is not None:
            setattr(account, setting, moved)
    session.flush()


# Delete


@dataclass(frozen=True)
class _Deletion:
    folder_id: int
    imap: ImapAccount | None
    path: str


def delete_folder(begin: Begin, runtime: Runtime, *, folder_id: int) -> None:
    """Only an empty folder without subfolders: deleting mail is done message by message,
    through Deleted Items (D3), never as a side effect of a folder."""
    with begin() as tx:
        plan = _deletion_plan(tx.session, tx.actor, runtime, folder_id)
    if plan.imap is not None:
        asyncio.run(_delete_on_server(runtime, plan))
    with begin() as tx:
        folder, _ = usable_folder(tx.session, tx.actor, folder_id)
        tx.session.delete(folder)


def _deletion_plan(session: Session, actor: User, runtime: Runtime, folder_id: int) -> _Deletion:
    folder, account = usable_folder(session, actor, folder_id)
    _refuse_special(folder, "deleted")
    children = session.scalar(
        select(func.count())
        .select_from(MailFolder)
        .where(
            MailFolder.account_id == account.id,
            MailFolder.path.startswith(
                folder.path + (folder.delimiter or LOCAL_DELIMITER), autoescape=True
            ),
        )
    )
    if children:
        raise ConflictError(
            f"“{folder.path}” has subfolders; delete or move them first.",
            code="folder_has_subfolders",
        )
    count = session.scalar(
        select(func.count()).select_from(MailMessage).where(MailMessage.folder_id == folder.id)
    )
    if count:
        raise _not_empty(folder.path, int(count))
    imap = None if folder.is_local else imap_account_of(account, runtime.secret_box)
    return _Deletion(folder.id, imap, folder.path)


def _not_empty(path: str, count: int) -> ConflictError:
    return ConflictError(
        f"“{path}” holds {count} message(s); move them to another folder or delete them first.",
        code="folder_not_empty",
    )


async def _delete_on_server(runtime: Runtime, plan: _Deletion) -> None:
    assert plan.imap is not None
    async with imap_session(runtime, plan.imap, f"delete the folder “{plan.path}”") as session:
        try:
            count = await imap_ops.message_count(session, plan.path)
        except ServerRefusedError as exc:
            if "NONEXISTENT" in exc.message.upper():
                return  # gone from the server already (another client): delete it here too
            raise
        if count:  # mail the last fetch has not brought yet
            raise _not_empty(plan.path, count)
        await imap_ops.delete_mailbox(session, plan.path)
