"""Loading folders and messages for a change, with the access rules of E1–E3 applied."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models import Account, User
from postroom.db.models_mailbox import MailFolder, MailMessage
from postroom.enums import FolderRole, IncomingProtocol
from postroom.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from postroom.services import access, accounts

# Folders a mailbox cannot do without: never renamed or deleted through Postroom.
SPECIAL_ROLES = frozenset({FolderRole.INBOX, FolderRole.SENT, FolderRole.DRAFTS, FolderRole.TRASH})
LOCAL_TRASH_NAME = "Deleted Items"
_NOT_USABLE = "You may see this account's mail but not change it; ask an administrator."


def require_incoming(account: Account) -> None:
    if account.incoming_protocol is IncomingProtocol.NONE:
        raise ConflictError(
            f"{account.email_address} only sends mail (no incoming server), so it has no "
            "folders or received messages.",
            code="no_incoming_mail",
        )


def usable_folder(session: Session, actor: User, folder_id: int) -> tuple[MailFolder, Account]:
    """The folder and its account, if the actor may change the account's mail (E1)."""
    folder = session.get(MailFolder, folder_id)
    if folder is None:
        raise NotFoundError(f"Folder {folder_id} does not exist.")
    try:
        account = accounts.get_usable_account(session, actor=actor, account_id=folder.account_id)
    except NotFoundError as exc:  # not theirs to see: the folder does not exist either
        raise NotFoundError(f"Folder {folder_id} does not exist.") from exc
    return folder, account


def folder_of_account(
    session: Session, folder_id: int | None, account_id: int, field: str
) -> MailFolder | None:
    """A folder named in a request body; one of another account is invalid input."""
    if folder_id is None:
        return None
    folder = session.get(MailFolder, folder_id)
    if folder is None or folder.account_id != account_id:
        raise ValidationError.for_field(
            field, f"Folder {folder_id} is not a folder of this account.", "not_found"
        )
    return folder


def usable_messages(
    session: Session, actor: User, ids: Sequence[int]
) -> tuple[list[MailMessage], dict[int, Account]]:
    """The messages (in the order asked) and their accounts; any id the actor may not see is
    a 404 (another company's ids too), one they may only see is a 403 (E1, E2)."""
    wanted = list(dict.fromkeys(ids))
    rows = {m.id: m for m in session.scalars(select(MailMessage).where(MailMessage.id.in_(wanted)))}
    account_ids = {m.account_id for m in rows.values()}
    found = session.scalars(select(Account).where(Account.id.in_(account_ids)))
    by_id = {a.id: a for a in found}
    groups = access.group_ids_of(session, actor)
    for message_id in wanted:
        message = rows.get(message_id)
        if message is None or not access.can_see(actor, by_id[message.account_id], groups):
            raise NotFoundError(f"Message {message_id} does not exist.")
    for account in by_id.values():
        if not access.can_use(actor, account, groups):
            raise PermissionDeniedError(_NOT_USABLE)
    return [rows[i] for i in wanted], by_id


def still_there(session: Session, ids: Sequence[int]) -> list[int]:
    """The ids whose messages still exist: between the server's part of a change and its
    saving, another request may have purged one (or a fetch removed it)."""
    found = set(session.scalars(select(MailMessage.id).where(MailMessage.id.in_(ids))))
    return [i for i in ids if i in found]


def folders_of(session: Session, account_ids: set[int]) -> dict[int, MailFolder]:
    found = session.scalars(select(MailFolder).where(MailFolder.account_id.in_(account_ids)))
    return {f.id: f for f in found}


def trash_of(
    folders: dict[int, MailFolder], account_id: int, *, local: bool | None = None
) -> MailFolder | None:
    """The account's Deleted Items: the folder with the \\Trash role (RFC 6154 or its name);
    `local` True or False asks for one kept only in Postroom or one on the server."""
    candidates = [
        f
        for f in folders.values()
        if f.account_id == account_id
        and f.role is FolderRole.TRASH
        and (local is None or f.is_local == local)
    ]
    return min(candidates, key=lambda f: f.id) if candidates else None


def inbox_of(folders: dict[int, MailFolder], account_id: int) -> MailFolder | None:
    candidates = [
        f for f in folders.values() if f.account_id == account_id and f.role is FolderRole.INBOX
    ]
    return min(candidates, key=lambda f: f.id) if candidates else None


def parent_path(path: str, delimiter: str | None) -> str | None:
    if not delimiter or delimiter not in path:
        return None
    return path.rpartition(delimiter)[0]


def is_below(path: str, ancestor: str, delimiter: str | None) -> bool:
    return bool(delimiter) and path.startswith(ancestor + (delimiter or ""))
