"""Reading received mail: folders with counts, message lists, threads (E1, E2: only the
accounts the reader may see; another company's rows are never found, db/tenancy.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select, true
from sqlalchemy.orm import Session

from postroom.db.models import Account, User
from postroom.db.models_mailbox import MailFolder, MailMessage
from postroom.enums import FolderRole
from postroom.errors import NotFoundError
from postroom.services import access, accounts

# Folders of an account in the order mail programs show them; the rest by path.
_ROLE_ORDER = {
    FolderRole.INBOX: 0,
    FolderRole.DRAFTS: 1,
    FolderRole.SENT: 2,
    FolderRole.ARCHIVE: 3,
    FolderRole.JUNK: 4,
    FolderRole.TRASH: 5,
    FolderRole.OTHER: 6,
}
MAX_THREAD_MESSAGES = 500
_THREAD_ROUNDS = 4  # replies of replies that lost their References: a few links deep


class MailSort(StrEnum):
    """List order; a leading "-" is descending. Ties go by id, so pages never overlap."""

    DATE_DESC = "-date"
    DATE_ASC = "date"
    FROM_ASC = "from"
    FROM_DESC = "-from"
    SUBJECT_ASC = "subject"
    SUBJECT_DESC = "-subject"
    SIZE_ASC = "size"
    SIZE_DESC = "-size"


@dataclass(frozen=True)
class FolderCounts:
    folder: MailFolder
    account_email: str
    total: int
    unread: int

    @property
    def depth(self) -> int:
        delimiter = self.folder.delimiter
        return self.folder.path.count(delimiter) if delimiter else 0

    @property
    def parent_path(self) -> str | None:
        delimiter = self.folder.delimiter
        if not delimiter or delimiter not in self.folder.path:
            return None
        return self.folder.path.rsplit(delimiter, 1)[0]


@dataclass(frozen=True)
class MailListing:
    folder_id: int | None = None  # None: the inboxes of every visible account
    account_id: int | None = None
    unread_only: bool = False
    sort: MailSort = MailSort.DATE_DESC


def visible_account_ids(actor: User) -> Select[Any]:
    return select(Account.id).where(access.visible_accounts_condition(actor))


def visible_mail(actor: User) -> ColumnElement[bool]:
    """Messages of the accounts `actor` may see (the SQL twin of access.can_see)."""
    if actor.is_admin:
        return true()
    return MailMessage.account_id.in_(visible_account_ids(actor))


def list_folders(
    session: Session, *, actor: User, account_id: int | None = None
) -> list[FolderCounts]:
    """Folders of the visible accounts (or of one), with total and unread counts: one query."""
    if account_id is not None:
        accounts.get_account(session, actor=actor, account_id=account_id)  # else 404
    unread = func.sum(case((MailMessage.seen.is_(False), 1), else_=0))
    counted = select(
        MailMessage.folder_id,
        func.count(MailMessage.id).label("total"),
        unread.label("unread"),
    ).where(visible_mail(actor))
    if account_id is not None:
        counted = counted.where(MailMessage.account_id == account_id)
    counts = counted.group_by(MailMessage.folder_id).subquery()
    query = (
        select(MailFolder, Account.email_address, counts.c.total, counts.c.unread)
        .join(Account, Account.id == MailFolder.account_id)
        .outerjoin(counts, counts.c.folder_id == MailFolder.id)
        .where(access.visible_accounts_condition(actor))
    )
    if account_id is not None:
        query = query.where(MailFolder.account_id == account_id)
    rows = [
        FolderCounts(folder, email, int(total or 0), int(unread_count or 0))
        for folder, email, total, unread_count in session.execute(query)
    ]
    return sorted(rows, key=_tree_order(rows))


def _tree_order(rows: list[FolderCounts]) -> Callable[[FolderCounts], tuple[object, ...]]:
    """Accounts by address; in each, the special folders first, then by name, each folder
    followed by its subfolders (a subfolder sorts with its top-level folder)."""
    roles = {(r.folder.account_id, r.folder.path): r.folder.role for r in rows}

    def key(row: FolderCounts) -> tuple[object, ...]:
        folder = row.folder
        parts = folder.path.split(folder.delimiter) if folder.delimiter else [folder.path]
        top_role = roles.get((folder.account_id, parts[0]), FolderRole.OTHER)
        rank = _ROLE_ORDER.get(top_role, len(_ROLE_ORDER))
        return (row.account_email.lower(), folder.account_id, rank, [p.lower() for p in parts])

    return key


def get_folder(session: Session, *, actor: User, folder_id: int) -> MailFolder:
    folder = session.scalar(
        select(MailFolder)
        .join(Account, Account.id == MailFolder.account_id)
        .where(MailFolder.id == folder_id, access.visible_accounts_condition(actor))
    )
    if folder is None:
        raise NotFoundError(f"Folder {folder_id} does not exist.")
    return folder


def _order(sort: MailSort) -> list[ColumnElement[Any]]:
    sender = func.lower(
        func.coalesce(func.nullif(MailMessage.from_name, ""), MailMessage.from_address)
    )
    key = {
        "date": MailMessage.sort_date,
        "from": sender,
        "subject": func.lower(MailMessage.subject),
        "size": MailMessage.size,
    }[sort.value.lstrip("-")]
    if sort.value.startswith("-"):
        return [key.desc(), MailMessage.id.desc()]
    return [key.asc(), MailMessage.id.asc()]


def _listing_conditions(
    session: Session, actor: User, listing: MailListing
) -> list[ColumnElement[bool]]:
    conditions = [visible_mail(actor)]
    if listing.folder_id is not None:
        folder = get_folder(session, actor=actor, folder_id=listing.folder_id)
        conditions.append(MailMessage.folder_id == folder.id)
    else:
        inboxes = select(MailFolder.id).where(MailFolder.role == FolderRole.INBOX)
        conditions.append(MailMessage.folder_id.in_(inboxes))
    if listing.account_id is not None:
        accounts.get_account(session, actor=actor, account_id=listing.account_id)
        conditions.append(MailMessage.account_id == listing.account_id)
    if listing.unread_only:
        conditions.append(MailMessage.seen.is_(False))
    return conditions


def list_mail(
    session: Session,
    *,
    actor: User,
    listing: MailListing = MailListing(),
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[MailMessage], int]:
    """One page of a folder (or of every visible inbox) and how many there are in all."""
    conditions = _listing_conditions(session, actor, listing)
    total = session.scalar(select(func.count()).select_from(MailMessage).where(*conditions))
    rows = session.scalars(
        select(MailMessage)
        .where(*conditions)
        .order_by(*_order(listing.sort))
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


def get_mail(session: Session, *, actor: User, mail_id: int) -> MailMessage:
    """The message if `actor` may see its account; otherwise it does not exist for them."""
    row = session.scalar(select(MailMessage).where(MailMessage.id == mail_id, visible_mail(actor)))
    if row is None:
        raise NotFoundError(f"Message {mail_id} does not exist.")
    return row


def thread_of(session: Session, *, actor: User, mail_id: int) -> list[MailMessage]:
    """Every visible message of the company in the same thread, oldest first.

    A thread hangs from `thread_root` (the first of References, else In-Reply-To). A reply
    whose mailer sent only In-Reply-To hangs from its parent instead, so parents' and
    replies' Message-IDs are followed a few links further."""
    message = get_mail(session, actor=actor, mail_id=mail_id)
    account_ids = list(session.scalars(visible_account_ids(actor)))
    ids = {value for value in (message.thread_root, message.message_id_header) if value}
    asked: set[str] = set()
    found: dict[int, MailMessage] = {message.id: message}
    for _ in range(_THREAD_ROUNDS):
        if not ids or len(found) >= MAX_THREAD_MESSAGES:
            break
        asked |= ids
        new = [row for row in _linked(session, account_ids, ids) if row.id not in found]
        found.update((row.id, row) for row in new)
        ids = _linked_ids(new) - asked
    return sorted(found.values(), key=_by_date)[:MAX_THREAD_MESSAGES]


def _linked(session: Session, account_ids: list[int], ids: set[str]) -> list[MailMessage]:
    """Messages hanging from one of `ids`, and the messages `ids` name. Two queries, each
    on its own index ((company, thread_root) and (account, Message-ID)): an OR of the two
    would read the company's whole mailbox."""
    in_accounts = MailMessage.account_id.in_(account_ids)
    rows = list(
        session.scalars(
            select(MailMessage)
            .where(MailMessage.thread_root.in_(ids), in_accounts)
            .limit(MAX_THREAD_MESSAGES)
        )
    )
    rows += session.scalars(
        select(MailMessage)
        .where(in_accounts, MailMessage.message_id_header.in_(ids))
        .limit(MAX_THREAD_MESSAGES)
    )
    return rows


def _linked_ids(rows: Sequence[MailMessage]) -> set[str]:
    linked: set[str] = set()
    for row in rows:
        linked.update(v for v in (row.thread_root, row.message_id_header, row.in_reply_to) if v)
    return linked


def _by_date(row: MailMessage) -> tuple[datetime, int]:
    return (row.sort_date, row.id)
