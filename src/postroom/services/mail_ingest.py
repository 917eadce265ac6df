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
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, false, insert, select
from sqlalchemy.orm import Session

from postroom.db.bulk import insert_many
from postroom.db.models import Account
from postroom.db.models_mailbox import MailFolder, MailMessage, MailText
from postroom.db.tenancy import TenantScopeError, company_of
from postroom.mail.parse import ParsedMessage, parse_message
from postroom.services.parse_pool import ParsedBody, parse_bodies
from postroom.services.search_text import searchable_words
from postroom.storage.mailstore import MailStore

_MESSAGES = cast(Table, MailMessage.__table__)
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


def flag_values(flags: frozenset[str]) -> dict[str, Any]:
    """The flag columns of a message with these IMAP flags (RFC 3501 §2.3.2)."""
    lowered = {flag.lower() for flag in flags}
    values: dict[str, Any] = {column: flag in lowered for flag, column in _FLAG_COLUMNS.items()}
    values["draft"] = "\\draft" in lowered
    values["keywords"] = sorted(flag for flag in flags if flag.lower() not in _NOT_KEYWORDS)
    return values


def apply_flags(row: MailMessage, flags: frozenset[str]) -> bool:
    """Set the row's flag columns; True if any changed."""
    changed = False
    for column, value in flag_values(flags).items():
        if getattr(row, column) != value:
            setattr(row, column, value)
            changed = True
    return changed


@dataclass(frozen=True)
class PreparedMessage:
    """A message whose bytes are durably in the store and whose headers are parsed: what
    its row needs besides the account, folder and time (see `insert_prepared`)."""

    key: str
    values: dict[str, Any]


def _values(item: IncomingMessage, key: str, raw: bytes, parsed: ParsedMessage) -> dict[str, Any]:
    return {
        "uidvalidity": item.uidvalidity,
        "uid": item.uid,
        "pop_uidl": item.pop_uidl,
        "modseq": item.modseq,
        "blob_key": key,
        "content_sha256": hashlib.sha256(raw).hexdigest(),
        "size": len(raw),
        "message_id_header": parsed.message_id,
        "in_reply_to": parsed.in_reply_to,
        "references": " ".join(parsed.references) or None,
        "thread_root": parsed.thread_root,
        "subject": parsed.subject,
        "from_address": parsed.from_address,
        "from_name": parsed.from_name,
        "to_addresses": parsed.to,
        "cc_addresses": parsed.cc,
        "reply_to": parsed.reply_to,
        "sent_date": parsed.date,
        "internal_date": item.internal_date,
        "sort_date": parsed.date or item.internal_date,
        "snippet": "",
        "has_attachments": False,
        "attachments": [],
        "auto_submitted": parsed.auto_submitted,
        "parse_defects": parsed.defects or None,
        **flag_values(item.flags),
    }


def prepare_incoming(store: MailStore, items: Sequence[IncomingMessage]) -> list[PreparedMessage]:
    """Write the raw bytes (durably) and parse the headers; no database work, so a fetch can
    prepare one batch while the previous one is being inserted."""
    if not items:
        return []
    keys = store.put_many([item.raw for item in items])
    return _prepared(keys, items, [item.raw for item in items])


def _prepared(
    keys: Sequence[str], items: Sequence[IncomingMessage], raws: Sequence[bytes]
) -> list[PreparedMessage]:
    return [
        PreparedMessage(key, _values(item, key, raw, parse_message(raw, with_body=False)))
        for key, item, raw in zip(keys, items, raws, strict=True)
    ]


def prepare_stored(
    root: Path, keys: Sequence[str], items: Sequence[IncomingMessage]
) -> list[PreparedMessage]:
    """`prepare_incoming` for messages whose bytes are in the store already (the items carry
    no bytes): what a parse worker process does with a fetched batch (parse_pool)."""
    return _prepared(keys, items, MailStore(root).read_many(keys))


def prepare_stored_task(
    task: tuple[Path, Sequence[str], Sequence[IncomingMessage]],
) -> list[PreparedMessage]:
    return prepare_stored(*task)


def insert_prepared(
    session: Session,
    account: Account,
    folder: MailFolder,
    prepared: Sequence[PreparedMessage],
    *,
    from_history: bool,
    returning: bool = True,
) -> list[MailMessage]:
    """One INSERT for the batch; the caller commits. Without `returning` no rows are loaded
    back and an empty list is returned. New mail (not history) is marked for the account's
    rules, which run after this commits (new_mail.run_pending_rules)."""
    if not prepared:
        return []
    now = datetime.now(UTC)
    own = {
        "company_id": account.company_id,
        "account_id": account.id,
        "folder_id": folder.id,
        "stored_at": now,
        "from_history": from_history,
        "rules_pending": not from_history,
    }
    values = [{**p.values, **own, "sort_date": p.values["sort_date"] or now} for p in prepared]
    if not returning:
        # The fetch's hot path: straight to the driver (db/bulk.py); the rows' company is
        # the account's, which must be the tenant session's own.
        if company_of(session) != account.company_id:
            raise TenantScopeError("refusing to write messages of another company")
        insert_many(session.connection(), _MESSAGES, values)
        return []
    options = {"render_nulls": True}  # one statement, not one per pattern of NULLs
    statement = insert(MailMessage).returning(MailMessage, sort_by_parameter_order=True)
    return list(session.scalars(statement, values, execution_options=options))


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
    prepared = prepare_incoming(store, items)
    return insert_prepared(session, account, folder, prepared, from_history=from_history)


def _addresses_line(message: MailMessage) -> str:
    parts = [message.from_name, message.from_address]
    for entry in (*message.to_addresses, *message.cc_addresses):
        parts += [entry.get("name", ""), entry.get("address", "")]
    return " ".join(part for part in parts if part)


def _search_row(message: MailMessage, body: ParsedBody) -> dict[str, Any]:
    parsed = body.parsed
    message.indexed = True
    message.snippet = parsed.snippet
    message.attachments = parsed.attachments
    message.has_attachments = bool(parsed.attachments)
    if parsed.defects:
        message.parse_defects = sorted(set((message.parse_defects or []) + parsed.defects))
    return {
        "company_id": message.company_id,
        "message_id": message.id,
        "subject": searchable_words(message.subject),
        "addresses": searchable_words(_addresses_line(message)),
        "body": body.words,
    }


def index_message(session: Session, store: MailStore, message: MailMessage) -> None:
    """Parse the body: snippet, attachments and the search row of one stored message."""
    (body,) = parse_bodies(store, [message.blob_key], processes=0)
    session.add(MailText(**_search_row(message, body)))


def index_pending(
    session: Session,
    store: MailStore,
    *,
    limit: int = 500,
    account_id: int | None = None,
    processes: int = 0,
) -> int:
    """Index up to `limit` stored messages (of one account, if given) that have no search
    row yet, their bodies parsed in `processes` worker processes (0: here); the caller
    commits. Returns how many were indexed."""
    query = (
        select(MailMessage)
        # `= false`, as the partial index says, so that both engines use it.
        .where(MailMessage.indexed == false())
        .order_by(MailMessage.id)
        .limit(limit)
    )
    if account_id is not None:
        query = query.where(MailMessage.account_id == account_id)
    pending = session.scalars(query).all()
    # A message whose search row exists but whose flag is not set (written before the flag
    # existed) is only flagged: its row is never written twice.
    have_text = set(
        session.scalars(
            select(MailText.message_id).where(MailText.message_id.in_([m.id for m in pending]))
        )
    )
    for message in pending:
        if message.id in have_text:
            message.indexed = True
    todo = [message for message in pending if message.id not in have_text]
    bodies = parse_bodies(store, [message.blob_key for message in todo], processes=processes)
    rows = [_search_row(message, body) for message, body in zip(todo, bodies, strict=True)]
    if rows:
        session.execute(insert(MailText), rows)
    session.flush()
    return len(pending)
