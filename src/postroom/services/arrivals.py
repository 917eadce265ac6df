"""Which newly stored messages are mail that arrived, with the headers the rules look at."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models_mailbox import MailArrival, MailFolder, MailMessage, MailSyncState
from postroom.enums import FolderRole
from postroom.mail.parse import header_block
from postroom.storage.files import StoredBlobMissingError
from postroom.storage.mailstore import MailStore

# Enough for any real header section; a longer one is cut, and its tail is ignored.
HEADER_BYTES = 256 * 1024
_CHUNK = 16 * 1024
# What lands in these folders was written by us or by the user's own client, or is spam:
# nothing to answer, notify or file as a task.
# Internal dates have whole seconds and come from the server's clock, not ours.
_CLOCK_SLACK = timedelta(minutes=10)
_NOT_ARRIVALS = (FolderRole.SENT, FolderRole.DRAFTS, FolderRole.TRASH, FolderRole.JUNK)


@dataclass(frozen=True)
class Arrival:
    """A new message and its header section (parsed tolerantly; broken fields read empty)."""

    message: MailMessage
    headers: Message
    folder_role: FolderRole

    def header(self, name: str) -> str:
        value = None
        with contextlib.suppress(Exception):  # a header the email package cannot decode
            value = self.headers.get(name)
        return str(value).strip() if value is not None else ""

    def has_header_prefix(self, prefix: str) -> bool:
        return any(key.lower().startswith(prefix) for key in self.headers)

    @property
    def arrived(self) -> bool:
        """Incoming mail, not a copy the user filed in Sent, Drafts, Trash or Junk."""
        return self.folder_role not in _NOT_ARRIVALS

    @property
    def is_delivery_report(self) -> bool:
        """RFC 3464: multipart/report; report-type=delivery-status."""
        try:
            content_type = self.headers.get_content_type()
            report_type = str(self.headers.get_param("report-type", "") or "")
        except Exception:  # a Content-Type the email package cannot read
            return False
        return content_type == "multipart/report" and report_type.lower() == "delivery-status"


def _head(store: MailStore, message: MailMessage) -> bytes:
    """The header section, read in small steps: most are a few kilobytes of a big message."""
    head = b""
    try:
        with store.open(message.blob_key) as handle:
            while len(head) < HEADER_BYTES:
                chunk = handle.read(_CHUNK)
                head += chunk
                if not chunk or b"\r\n\r\n" in head or b"\n\n" in head:
                    break
    except StoredBlobMissingError:
        return b""
    return header_block(head)


def _copies_of_known(
    session: Session, account_id: int, messages: Sequence[MailMessage]
) -> set[int]:
    """Ids of messages whose exact bytes the account already had in another row.

    Another client moving a message from Inbox to a folder gives it a new UID there: the sync
    stores it again, but it is not new mail. Two copies within one fetch count once too.
    """
    ids = {m.id for m in messages}
    hashes = {m.content_sha256 for m in messages}
    earlier = set(
        session.scalars(
            select(MailMessage.content_sha256).where(
                MailMessage.account_id == account_id,
                MailMessage.content_sha256.in_(hashes),
                MailMessage.id.not_in(ids),
            )
        )
    )
    # The row of the original may be gone already (the move expunged it before the copy was
    # stored): what the rules saw before is remembered by content.
    earlier |= set(
        session.scalars(
            select(MailArrival.content_sha256).where(
                MailArrival.account_id == account_id, MailArrival.content_sha256.in_(hashes)
            )
        )
    )
    copies: set[int] = set()
    for message in sorted(messages, key=lambda m: m.id):
        if message.content_sha256 in earlier:
            copies.add(message.id)
        else:
            session.add(
                MailArrival(
                    company_id=message.company_id,
                    account_id=account_id,
                    content_sha256=message.content_sha256,
                )
            )
        earlier.add(message.content_sha256)
    return copies


def _received_before(imported: datetime | None, message: MailMessage) -> bool:
    """Mail the server received before the first import finished is history wherever it
    shows up: COPY and MOVE keep the internal date (RFC 3501 §6.4.7), so an old message the
    user files into another folder is recognised by it."""
    received = message.internal_date
    return imported is not None and received is not None and received < imported - _CLOCK_SLACK


def load_arrivals(
    session: Session, store: MailStore, account_id: int, messages: Sequence[MailMessage]
) -> list[Arrival]:
    """The messages that are really new to the account, oldest first, with their headers."""
    imported = session.scalar(
        select(MailSyncState.first_import_done_at).where(MailSyncState.account_id == account_id)
    )
    fresh = [m for m in messages if not m.from_history and not _received_before(imported, m)]
    if not fresh:
        return []
    copies = _copies_of_known(session, account_id, fresh)
    folder_ids = {m.folder_id for m in fresh}
    roles: dict[int, FolderRole] = {
        row.id: row.role
        for row in session.execute(
            select(MailFolder.id, MailFolder.role).where(MailFolder.id.in_(folder_ids))
        )
    }
    parser = BytesHeaderParser(policy=policy.default)
    return [
        Arrival(m, parser.parsebytes(_head(store, m)), roles.get(m.folder_id, FolderRole.OTHER))
        for m in sorted(fresh, key=lambda m: m.id)
        if m.id not in copies
    ]
