"""Fetched mail made ready for its row: bytes to the mail store, headers parsed, hashed.

No database here, and nothing heavy to import: the parse worker processes (parse_pool) run
`prepare_stored_task` for a big fetch's batches and should start in a moment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from postroom.mail.parse import ParsedMessage, parse_message
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


def flag_values(flags: frozenset[str]) -> dict[str, Any]:
    """The flag columns of a message with these IMAP flags (RFC 3501 §2.3.2)."""
    lowered = {flag.lower() for flag in flags}
    values: dict[str, Any] = {column: flag in lowered for flag, column in _FLAG_COLUMNS.items()}
    values["draft"] = "\\draft" in lowered
    values["keywords"] = sorted(flag for flag in flags if flag.lower() not in _NOT_KEYWORDS)
    return values


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
