"""What a user does to received mail (D3): delete to Deleted Items, restore, move, flags.

Each change is made on the IMAP server first (MOVE, STORE) and then saved; POP3 accounts
keep their folders in Postroom only. Purging lives in services/mail_purge.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models import Account, User
from postroom.db.models_mailbox import MailFolder, MailMessage
from postroom.enums import FolderRole
from postroom.errors import ConflictError, PostroomError, ValidationError
from postroom.mail import imap_client, imap_ops
from postroom.mail.imap_probe import ImapSession
from postroom.mail.imap_wire import ListedMailbox
from postroom.services.account_setup import Begin
from postroom.services.imap_access import ImapAccount
from postroom.services.mail_moves import move_messages
from postroom.services.mailbox_access import (
    LOCAL_TRASH_NAME,
    folders_of,
    inbox_of,
    still_there,
    trash_of,
    usable_messages,
)
from postroom.services.mailbox_server import imap_account_of, imap_session
from postroom.services.runtime import Runtime

# Where providers keep deleted mail when the server marks no folder \Trash (RFC 6154):
# generic, Outlook/Exchange, Apple, Gmail, Polish providers, Courier-style.
TRASH_NAMES = (
    "Trash",
    "Deleted Items",
    "Deleted Messages",
    "Kosz",
    "Elementy usunięte",
    "Usunięte",
    "INBOX.Trash",
    "INBOX/Trash",
    "[Gmail]/Trash",
    "[Gmail]/Kosz",
)
TRASH_SPECIAL_USE = "\\Trash"


def _not_in_trash(message: MailMessage) -> ConflictError:
    return ConflictError(
        f"Message {message.id} is not in Deleted Items.", code="not_in_deleted_items"
    )


# Delete and restore


def delete_messages(begin: Begin, runtime: Runtime, *, ids: Sequence[int]) -> list[MailMessage]:
    """Move to the account's Deleted Items (on the server too), remembering where from.
    Messages already there stay; purging is a separate step (services/mail_purge.py)."""
    _ensure_trash(begin, runtime, ids)

    def to_trash(
        message: MailMessage, account: Account, folders: dict[int, MailFolder]
    ) -> MailFolder | None:
        local = _trash_kind(account, folders[message.folder_id], runtime)
        return trash_of(folders, account.id, local=local)

    return move_messages(begin, runtime, ids=ids, choose=to_trash)


def restore_messages(begin: Begin, runtime: Runtime, *, ids: Sequence[int]) -> list[MailMessage]:
    """Back to the folder each came from (the inbox if that folder is gone)."""

    def back(
        message: MailMessage, account: Account, folders: dict[int, MailFolder]
    ) -> MailFolder | None:
        if folders[message.folder_id].role is not FolderRole.TRASH:
            raise _not_in_trash(message)
        origin = folders.get(message.deleted_from_folder_id or 0)
        target = origin or inbox_of(folders, account.id)
        if target is None:
            raise ConflictError(
                f"Message {message.id} has no folder to go back to; move it instead.",
                code="no_folder_to_restore",
            )
        return target

    return move_messages(begin, runtime, ids=ids, choose=back)


def move_to_folder(
    begin: Begin, runtime: Runtime, *, ids: Sequence[int], folder_id: int
) -> list[MailMessage]:
    """Move to another folder of the same account (Deleted Items included)."""

    def to_folder(
        message: MailMessage, account: Account, folders: dict[int, MailFolder]
    ) -> MailFolder | None:
        target = folders.get(folder_id)
        if target is None or target.account_id != account.id:
            raise ValidationError.for_field(
                "folder_id", f"Folder {folder_id} is not a folder of this message's account."
            )
        return target

    return move_messages(begin, runtime, ids=ids, choose=to_folder)


# Deleted Items: found on the server, made there if missing, local for POP3


def _trash_kind(account: Account, source: MailFolder, runtime: Runtime) -> bool | None:
    """Which Deleted Items a message goes to: any (POP3: all local), a local one (from a
    folder the server lost) or the server's."""
    if imap_account_of(account, runtime.secret_box) is None:
        return None
    return source.is_local


def _ensure_trash(begin: Begin, runtime: Runtime, ids: Sequence[int]) -> None:
    with begin() as tx:
        missing = _accounts_without_trash(tx.session, tx.actor, runtime, ids)
    for account_id, imap in missing.items():
        path, delimiter = asyncio.run(_trash_on_server(runtime, imap))
        with begin() as tx:
            _save_trash(tx.session, account_id, path, delimiter)


def _accounts_without_trash(
    session: Session, actor: User, runtime: Runtime, ids: Sequence[int]
) -> dict[int, ImapAccount]:
    """IMAP accounts with no server Deleted Items yet; POP3 accounts get a local one now."""
    messages, by_account = usable_messages(session, actor, ids)
    folders = folders_of(session, set(by_account))
    missing: dict[int, ImapAccount] = {}
    for message in messages:
        account = by_account[message.account_id]
        imap = imap_account_of(account, runtime.secret_box)
        local = _trash_kind(account, folders[message.folder_id], runtime)
        if trash_of(folders, account.id, local=local) is not None:
            continue
        if local is not False:
            trash = MailFolder(
                account_id=account.id,
                path=LOCAL_TRASH_NAME,
                name=LOCAL_TRASH_NAME,
                delimiter="/",
                role=FolderRole.TRASH,
                is_local=True,
            )
            session.add(trash)
            session.flush()
            folders[trash.id] = trash
        elif imap is not None:
            missing[account.id] = imap
    return missing


def _find_trash(mailboxes: list[ListedMailbox]) -> ListedMailbox | None:
    listed = [m for m in mailboxes if "\\NOSELECT" not in m.flags]
    for mailbox in listed:
        if TRASH_SPECIAL_USE.upper() in mailbox.flags:
            return mailbox
    by_name = {m.name.casefold(): m for m in listed}
    return next((by_name[n.casefold()] for n in TRASH_NAMES if n.casefold() in by_name), None)


async def _trash_on_server(runtime: Runtime, imap: ImapAccount) -> tuple[str, str | None]:
    async with imap_session(runtime, imap, "find or create Deleted Items") as session:
        mailboxes = await imap_client.list_mailboxes(session)
        found = _find_trash(mailboxes)
        if found is not None:
            return found.name, found.delimiter or None
        await imap_ops.create_mailbox(session, "Trash", special_use=TRASH_SPECIAL_USE)
        return "Trash", await imap_ops.hierarchy_delimiter(session)


def _save_trash(session: Session, account_id: int, path: str, delimiter: str | None) -> None:
    folder = session.scalar(
        select(MailFolder).where(MailFolder.account_id == account_id, MailFolder.path == path)
    )
    if folder is None:
        folder = MailFolder(
            account_id=account_id,
            path=path,
            name=path.rpartition(delimiter)[2] if delimiter else path,
            delimiter=delimiter,
        )
        session.add(folder)
    folder.role = FolderRole.TRASH
    folder.is_local = False
    session.flush()


# Flags


@dataclass
class _FlagPlan:
    imap: ImapAccount
    # folder path -> (its UIDVALIDITY as stored, message id -> UID)
    folders: dict[str, tuple[int | None, dict[int, int]]] = field(default_factory=dict)


def _flag_changes(seen: bool | None, flagged: bool | None) -> tuple[list[str], list[str]]:
    add: list[str] = []
    remove: list[str] = []
    for flag, value in (("\\Seen", seen), ("\\Flagged", flagged)):
        if value is not None:
            (add if value else remove).append(flag)
    return add, remove


def set_flags(
    begin: Begin,
    runtime: Runtime,
    *,
    ids: Sequence[int],
    seen: bool | None = None,
    flagged: bool | None = None,
) -> list[MailMessage]:
    """Read/unread and flagged: on the IMAP server (UID STORE) first, then saved.

    Also for the reading view's "mark as read": call it after the read transaction ended.
    Messages whose flags are already as asked are not sent to the server again.
    """
    if seen is None and flagged is None:
        raise ValidationError.for_field("seen", "Give seen, flagged, or both.")
    with begin() as tx:
        plans = _flag_plans(tx.session, tx.actor, runtime, ids, (seen, flagged))
    done: set[int] = set()
    errors: list[PostroomError] = []
    if plans:
        asyncio.run(_store_on_servers(runtime, plans, _flag_changes(seen, flagged), done, errors))
    on_server = {i for plan in plans.values() for _, uids in plan.folders.values() for i in uids}
    with begin() as tx:
        messages, _ = usable_messages(tx.session, tx.actor, still_there(tx.session, ids))
        for message in messages:
            if message.id in on_server and message.id not in done:
                continue
            if seen is not None:
                message.seen = seen
            if flagged is not None:
                message.flagged = flagged
        tx.session.flush()
    if errors:
        raise errors[0]
    return messages


def _flag_plans(
    session: Session,
    actor: User,
    runtime: Runtime,
    ids: Sequence[int],
    wanted: tuple[bool | None, bool | None],
) -> dict[int, _FlagPlan]:
    messages, by_account = usable_messages(session, actor, ids)
    folders = folders_of(session, set(by_account))
    plans: dict[int, _FlagPlan] = {}
    seen, flagged = wanted
    for message in messages:
        if seen in (None, message.seen) and flagged in (None, message.flagged):
            continue  # already so: no round trip (opening a read message marks nothing)
        folder = folders[message.folder_id]
        imap = imap_account_of(by_account[message.account_id], runtime.secret_box)
        if imap is None or folder.is_local or message.uid is None:
            continue
        plan = plans.setdefault(message.account_id, _FlagPlan(imap))
        plan.folders.setdefault(folder.path, (message.uidvalidity, {}))[1][message.id] = message.uid
    return plans


async def _store_on_servers(
    runtime: Runtime,
    plans: dict[int, _FlagPlan],
    changes: tuple[list[str], list[str]],
    done: set[int],
    errors: list[PostroomError],
) -> None:
    for plan in plans.values():
        try:
            async with imap_session(runtime, plan.imap, "change the flags") as session:
                await _store_for_account(session, plan, changes, done, errors)
        except PostroomError as exc:
            errors.append(exc)


async def _store_for_account(
    session: ImapSession,
    plan: _FlagPlan,
    changes: tuple[list[str], list[str]],
    done: set[int],
    errors: list[PostroomError],
) -> None:
    add, remove = changes
    for path, (uidvalidity, uids) in plan.folders.items():
        selected = await imap_ops.open_mailbox(session, path)
        if uidvalidity not in (None, selected.uidvalidity):
            errors.append(
                ConflictError(
                    f"“{path}” changed on the mail server since the last fetch; fetch mail, "
                    "then try again.",
                    code="folder_changed_on_server",
                )
            )
            continue
        await imap_ops.store_flags(session, list(uids.values()), add, add=True)
        await imap_ops.store_flags(session, list(uids.values()), remove, add=False)
        done.update(uids)
