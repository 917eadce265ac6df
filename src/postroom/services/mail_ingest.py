"""Store fetched messages: raw bytes to the mail store, headers to mail_messages.

Two stages, so a big first sync lists mail as fast as the server sends it:
1. `store_incoming` — raw bytes to disk (durable first), then rows from the headers alone;
2. `index_pending` — the body's text, snippet and attachments, and the search row (MailText),
   for messages that have none yet. Search and attachment lists fill in shortly after.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models import Account
from postroom.db.models_mailbox import MailFolder, MailMessage, MailText
from postroom.mail.parse import ParsedMessage, parse_message
from postroom.services.search_text import searchable_words
from postroom.storage.files import StoredBlobMissingError
from postroom.storage.mailstore import MailStore

# IMAP system flags kept as columns; \Recent is session-only and \Deleted is an expunge
# in waiting, neither is kept.
_FLAG_COLUMNS = {"\\seen": "seen", "\\flagged": "flagged", "\\answered": "answered"}
_NOT_KEYWORDS = {"\\recent", "\\deleted", "\\draft", *_FLAG_COLUMNS}


@dataclass(frozen=True)
class IncomingMessage:
    """One message as a protocol client fetched it."""

    raw: bytes
    uid: int | None = None
    uidvalidity: int | None = None
    pop_uidl: str | None = None
    flags: frozenset[str] = field(default_factory=frozenset)
    internal_date: datetime | None = None
    modseq: int | None = None


def apply_flags(row: MailMessage, flags: frozenset[str]) -> None:
    lowered = {flag.lower() for flag in flags}
    for flag, column in _FLAG_COLUMNS.items():
        setattr(row, column, flag in lowered)
    row.draft = "\\draft" in lowered
    row.keywords = sorted(flag for flag in flags if flag.lower() not in _NOT_KEYWORDS)


def _row(
    account: Account,
    folder: MailFolder,
    item: IncomingMessage,
    key: str,
    parsed: ParsedMessage,
    *,
    from_history: bool,
    now: datetime,
) -> MailMessage:
    row = MailMessage(
        company_id=account.company_id,
        account_id=account.id,
        folder_id=folder.id,
        uidvalidity=item.uidvalidity,
        uid=item.uid,
        pop_uidl=item.pop_uidl,
        modseq=item.modseq,
        blob_key=key,
        content_sha256=hashlib.sha256(item.raw).hexdigest(),
        size=len(item.raw),
        message_id_header=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=" ".join(parsed.references) or None,
        thread_root=parsed.thread_root,
        subject=parsed.subject,
        from_address=parsed.from_address,
        from_name=parsed.from_name,
        to_addresses=parsed.to,
        cc_addresses=parsed.cc,
        reply_to=parsed.reply_to,
        sent_date=parsed.date,
        internal_date=item.internal_date,
        sort_date=parsed.date or item.internal_date or now,
        stored_at=now,
        auto_submitted=parsed.auto_submitted,
        parse_defects=parsed.defects or None,
        from_history=from_history,
    )
    apply_flags(row, item.flags)
    return row


def store_incoming(
    session: Session,
    store: MailStore,
    account: Account,
    folder: MailFolder,
    items: Sequence[IncomingMessage],
    *,
    from_history: bool,
) -> list[MailMessage]:
    """Write the raw bytes (durably), then add one row per message; the caller commits.

    If the commit fails, the files are left without rows: harmless, never the reverse
    (a row whose bytes are missing).
    """
    if not items:
        return []
    keys = store.put_many([item.raw for item in items])
    now = datetime.now(UTC)
    rows = [
        _row(
            account,
            folder,
            item,
            key,
            parse_message(item.raw, with_body=False),
            from_history=from_history,
            now=now,
        )
        for item, key in zip(items, keys, strict=True)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def _addresses_line(message: MailMessage) -> str:
    parts = [message.from_name, message.from_address]
    for entry in (*message.to_addresses, *message.cc_addresses):
        parts += [entry.get("name", ""), entry.get("address", "")]
    return " ".join(part for part in parts if part)


def index_message(session: Session, store: MailStore, message: MailMessage) -> None:
    """Parse the body: snippet, attachments and the search row of one stored message."""
    try:
        parsed = parse_message(store.read(message.blob_key))
    except StoredBlobMissingError:
        parsed = ParsedMessage(defects=["raw message missing from the store"])
    message.snippet = parsed.snippet
    message.attachments = parsed.attachments
    message.has_attachments = bool(parsed.attachments)
    if parsed.defects:
        message.parse_defects = sorted(set((message.parse_defects or []) + parsed.defects))
    session.add(
        MailText(
            company_id=message.company_id,
            message_id=message.id,
            subject=searchable_words(message.subject),
            addresses=searchable_words(_addresses_line(message)),
            body=searchable_words(parsed.text),
        )
    )


def index_pending(session: Session, store: MailStore, *, limit: int = 500) -> int:
    """Index up to `limit` stored messages that have no search row yet; the caller commits."""
    pending = session.scalars(
        select(MailMessage)
        .outerjoin(MailText, MailText.message_id == MailMessage.id)
        .where(MailText.message_id.is_(None))
        .order_by(MailMessage.id)
        .limit(limit)
    ).all()
    for message in pending:
        index_message(session, store, message)
    session.flush()
    return len(pending)
