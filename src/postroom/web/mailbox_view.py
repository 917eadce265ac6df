"""What the mail pages show, as plain values: the folder tree, list rows, the page's query."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlencode

from postroom.db.models import Account
from postroom.db.models_mailbox import MailMessage
from postroom.enums import FolderRole, IncomingProtocol
from postroom.services.mail_reading import FolderCounts, MailSort
from postroom.services.mailbox_access import SPECIAL_ROLES
from postroom.web.i18n import N_

PAGE_SIZE = 50
MAX_QUERY = 500
SORTS = {
    MailSort.DATE_DESC.value: N_("Newest first"),
    MailSort.DATE_ASC.value: N_("Oldest first"),
    MailSort.FROM_ASC.value: N_("Sender A–Z"),
    MailSort.FROM_DESC.value: N_("Sender Z–A"),
    MailSort.SUBJECT_ASC.value: N_("Subject A–Z"),
    MailSort.SUBJECT_DESC.value: N_("Subject Z–A"),
    MailSort.SIZE_DESC.value: N_("Largest first"),
    MailSort.SIZE_ASC.value: N_("Smallest first"),
}
# Top-level special folders by what they are, in the reader's language; others by their name.
ROLE_NAMES = {
    FolderRole.INBOX: N_("Inbox"),
    FolderRole.SENT: N_("Sent items"),
    FolderRole.DRAFTS: N_("Drafts"),
    FolderRole.TRASH: N_("Deleted items"),
    FolderRole.JUNK: N_("Junk mail"),
    FolderRole.ARCHIVE: N_("Archive"),
}
_MAX_DEPTH_CLASS = 5  # indentation classes depth-0 … depth-5 (no inline styles: CSP)


@dataclass(frozen=True)
class MailQuery:
    """The list a page shows: a folder (None: every inbox) or a search, its order and page."""

    folder: int | None = None
    sort: str = MailSort.DATE_DESC.value
    unread: bool = False
    page: int = 1
    q: str = ""

    @classmethod
    def parse(cls, source: Mapping[str, str]) -> MailQuery:
        folder = source.get("folder", "")
        page = source.get("page", "1")
        sort = source.get("sort", "")
        return cls(
            folder=int(folder) if folder.isdigit() else None,
            sort=sort if sort in SORTS else MailSort.DATE_DESC.value,
            unread=source.get("unread") in {"1", "on", "true"},
            page=max(1, int(page)) if page.isdigit() else 1,
            q=source.get("q", "").strip()[:MAX_QUERY],
        )

    def at_page(self, page: int) -> MailQuery:
        return replace(self, page=page)

    def url(self) -> str:
        params = {
            "q": self.q,
            "folder": str(self.folder) if self.folder else "",
            "sort": self.sort if self.sort != MailSort.DATE_DESC.value else "",
            "unread": "1" if self.unread else "",
            "page": str(self.page) if self.page > 1 else "",
        }
        encoded = urlencode({k: v for k, v in params.items() if v})
        return "/mail" + (f"?{encoded}" if encoded else "")

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE


@dataclass(frozen=True)
class FolderItem:
    id: int
    name: str  # a translation key when `translate_name`
    translate_name: bool
    depth_class: str
    role: str
    unread: int
    total: int
    account_id: int = 0
    own_name: str = ""  # the folder's name on the server, for the rename form
    special: bool = False  # Inbox, Sent, Drafts, Deleted Items: never renamed or deleted


@dataclass(frozen=True)
class AccountFolders:
    account_id: int
    email: str
    folders: list[FolderItem] = field(default_factory=list)


def folder_tree(rows: list[FolderCounts]) -> list[AccountFolders]:
    """The sidebar: each account with its folders (already in tree order)."""
    tree: list[AccountFolders] = []
    for row in rows:
        if not tree or tree[-1].account_id != row.folder.account_id:
            tree.append(AccountFolders(row.folder.account_id, row.account_email))
        special = ROLE_NAMES.get(row.folder.role) if row.depth == 0 else None
        tree[-1].folders.append(
            FolderItem(
                id=row.folder.id,
                name=special or row.folder.name or row.folder.path,
                translate_name=special is not None,
                depth_class=f"depth-{min(row.depth, _MAX_DEPTH_CLASS)}",
                role=row.folder.role.value,
                unread=row.unread,
                total=row.total,
                account_id=row.folder.account_id,
                own_name=row.folder.name or row.folder.path,
                special=row.folder.role in SPECIAL_ROLES,
            )
        )
    return tree


def with_accounts(tree: list[AccountFolders], found: list[Account]) -> list[AccountFolders]:
    """The tree plus the accounts that receive mail but have no folders yet (before their
    first fetch), so "Fetch now" is there for them too; by address, as the tree."""
    known = {account.account_id for account in tree}
    extra = [
        AccountFolders(a.id, a.email_address)
        for a in found
        if a.id not in known and a.incoming_protocol is not IncomingProtocol.NONE
    ]
    return sorted([*tree, *extra], key=lambda a: (a.email.lower(), a.account_id))


@dataclass(frozen=True)
class MailRow:
    id: int
    sender: str
    recipients: str  # shown instead of the sender in Sent and Drafts
    sender_address: str
    subject: str
    date: datetime
    size: str
    seen: bool
    flagged: bool
    has_attachments: bool
    snippet: str
    account_email: str


def human_size(size: int, language: str) -> str:
    """1,2 MB in Polish, 1.2 MB in English; whole kilobytes below a megabyte."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    text = f"{size / (1024 * 1024):.1f}"
    return (text.replace(".", ",") if language == "pl" else text) + " MB"


def mail_rows(
    messages: list[MailMessage], emails: Mapping[int, str], language: str
) -> list[MailRow]:
    return [
        MailRow(
            id=m.id,
            sender=m.from_name or m.from_address,
            recipients=", ".join(
                a.get("name") or a.get("address", "") for a in [*m.to_addresses, *m.cc_addresses]
            ),
            sender_address=m.from_address,
            subject=m.subject,
            date=m.sort_date,
            size=human_size(m.size, language),
            seen=m.seen,
            flagged=m.flagged,
            has_attachments=m.has_attachments,
            snippet=m.snippet,
            account_email=emails.get(m.account_id, ""),
        )
        for m in messages
    ]


OUTGOING_ROLES = frozenset({FolderRole.SENT.value, FolderRole.DRAFTS.value})


def account_emails(tree: list[AccountFolders]) -> dict[int, str]:
    return {account.account_id: account.email for account in tree}
