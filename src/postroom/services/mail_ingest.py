"""Store fetched messages: raw bytes to the mail store, headers to mail_messages.

Two stages, so a big first sync lists mail as fast as the server sends it:
1. `store_incoming` — raw bytes to disk (durable first), then rows from the headers alone;
2. `index_pending` — the body's text, snippet and attachments, and the search row (MailText),
   for messages that have none yet. Search and attachment lists fill in shortly after.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, false, insert, select
from sqlalchemy.orm import Session

from postroom.db.bulk import insert_many
from postroom.db.models import Account
from postroom.db.models_mailbox import MailFolder, MailMessage, MailText
from postroom.db.tenancy import TenantScopeError, company_of
from postroom.services.mail_prepare import (
    IncomingMessage,
    PreparedMessage,
    flag_values,
    prepare_incoming,
)
from postroom.services.parse_pool import ParsedBody, parse_bodies
from postroom.services.search_text import searchable_words
from postroom.storage.mailstore import MailStore

_MESSAGES = cast(Table, MailMessage.__table__)


def apply_flags(row: MailMessage, flags: frozenset[str]) -> bool:
    """Set the row's flag columns; True if any changed."""
    changed = False
    for column, value in flag_values(flags).items():
        if getattr(row, column) != value:
            setattr(row, column, value)
            changed = True
    return changed


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
