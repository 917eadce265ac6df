"""Parse a received message into what lists, threads and search need — never failing.

Real mailboxes hold broken MIME, unknown charsets, raw 8-bit headers, missing or duplicate
Message-IDs. Every field is extracted on its own: a field that cannot be read is left empty
and a note goes to `defects`; the raw bytes are kept elsewhere untouched, so nothing is lost.
"""

from __future__ import annotations

import contextlib
import email
import email.header
import email.utils
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from typing import Any

from postroom.mail.html_text import html_to_text

SNIPPET_CHARS = 200
_FALLBACK_CHARSET = "cp1250"  # what Polish mail without a declared charset usually is
_MAX_ID = 998
_MAX_ADDRESS = 320


@dataclass
class ParsedMessage:
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_name: str = ""
    from_address: str = ""
    to: list[dict[str, str]] = field(default_factory=list)
    cc: list[dict[str, str]] = field(default_factory=list)
    reply_to: list[dict[str, str]] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""  # the body as plain text (from HTML when there is no text part)
    html: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    auto_submitted: bool = False
    defects: list[str] = field(default_factory=list)

    @property
    def thread_root(self) -> str | None:
        if self.references:
            return self.references[0]
        return self.in_reply_to or self.message_id

    @property
    def snippet(self) -> str:
        return " ".join(self.text.split())[:SNIPPET_CHARS]


def clean(value: str) -> str:
    """Text safe for any database column: raw 8-bit bytes decoded, NUL and surrogates gone."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        raw = value.encode("utf-8", "surrogateescape")
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw.decode(_FALLBACK_CHARSET, "replace")
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _header_text(message: Message, name: str) -> str:
    """A header's decoded value, tolerating what policy.default refuses (RFC 2047 errors…)."""
    raw = message.get_all(name)
    if not raw:
        return ""
    value: Any = raw[0]
    with contextlib.suppress(Exception):  # a header object that cannot even print itself
        return clean(str(value))
    try:
        decoded = email.header.make_header(email.header.decode_header(str(value)))
        return clean(str(decoded))
    except Exception:
        return ""


def _addresses(message: Message, name: str) -> list[dict[str, str]]:
    values = message.get_all(name) or []
    result: list[dict[str, str]] = []
    for display_name, address in email.utils.getaddresses([clean(str(v)) for v in values]):
        if address or display_name:
            result.append(
                {"name": clean(display_name)[:_MAX_ADDRESS], "address": address[:_MAX_ADDRESS]}
            )
    return result


_BRACKETED = re.compile(r"<([^<>\s]+)>")


def _message_ids(value: str) -> list[str]:
    """Message-IDs in angle brackets; else the bare words (some mailers omit the brackets)."""
    found = _BRACKETED.findall(value) or value.split()
    return [item[:_MAX_ID] for item in found if item]


def _first_id(value: str) -> str | None:
    found = _message_ids(value)
    return found[0] if found else None


def _date(message: Message, parsed: ParsedMessage) -> datetime | None:
    value = message.get("Date")
    if value is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        parsed.defects.append("unreadable Date header")
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _part_text(part: Message) -> str:
    try:
        if isinstance(part, EmailMessage):
            content = part.get_content()
            if isinstance(content, str):
                return clean(content)
    except (LookupError, UnicodeError, ValueError, AssertionError, KeyError):
        pass
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", _FALLBACK_CHARSET):
        try:
            return clean(payload.decode(candidate))
        except (LookupError, UnicodeDecodeError):
            continue
    return clean(payload.decode("latin-1"))


def _is_attachment(part: Message) -> bool:
    try:
        return _declared_attachment(part)
    except Exception:  # a broken Content-Disposition: treat the part by its type
        return False


def _declared_attachment(part: Message) -> bool:
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    return disposition == "attachment" or (
        part.get_filename() is not None and disposition != "inline"
    )


def _attachment(index: int, part: Message) -> dict[str, Any]:
    """What the message list shows of an attachment; `part` is its index in walk() order."""
    payload = part.get_payload(decode=True)
    try:
        filename = part.get_filename()
    except Exception:  # a broken RFC 2231 parameter
        filename = None
    return {
        "part": index,
        "filename": clean(filename) if filename else "",
        "content_type": part.get_content_type(),
        "size": len(payload) if isinstance(payload, bytes) else 0,
    }


def _walk_parts(message: Message, parsed: ParsedMessage) -> None:
    texts: list[str] = []
    htmls: list[str] = []
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        if _is_attachment(part) or not content_type.startswith("text/"):
            parsed.attachments.append(_attachment(index, part))
        elif content_type == "text/html":
            htmls.append(_part_text(part))
        elif content_type == "text/plain":
            texts.append(_part_text(part))
    if htmls:
        parsed.html = htmls[0]
    if texts:
        parsed.text = "\n\n".join(texts)
    elif htmls:
        try:
            parsed.text = html_to_text(htmls[0])
        except Exception:  # text for search only; the HTML itself is kept
            parsed.defects.append("HTML could not be turned into text")


def _auto_submitted(message: Message) -> bool:
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    listy = any(key.lower().startswith("list-") for key in message)
    return auto != "no" or precedence in {"bulk", "list", "junk"} or listy


def header_block(raw: bytes) -> bytes:
    """The header section of a message (up to and including the empty line)."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end >= 0:
            return raw[: end + len(separator)]
    return raw


def parse_message(raw: bytes, *, with_body: bool = True) -> ParsedMessage:
    """Headers always; the body (text, HTML, attachments) only when `with_body`.

    The sync stores and lists mail from the headers alone (fast), and fills in the body's
    text and attachments later, in the search indexing pass.
    """
    parsed = ParsedMessage()
    message = email.message_from_bytes(
        raw if with_body else header_block(raw), policy=policy.default
    )
    parsed.defects.extend(type(defect).__name__ for defect in message.defects)
    parsed.subject = _header_text(message, "Subject")
    message_id = _header_text(message, "Message-ID")
    parsed.message_id = _first_id(message_id) if message_id else None
    in_reply_to = _header_text(message, "In-Reply-To")
    parsed.in_reply_to = _first_id(in_reply_to) if in_reply_to else None
    parsed.references = _message_ids(_header_text(message, "References"))
    for target, name in (("to", "To"), ("cc", "Cc"), ("reply_to", "Reply-To")):
        try:
            setattr(parsed, target, _addresses(message, name))
        except Exception:
            parsed.defects.append(f"unreadable {name} header")
    try:
        senders = _addresses(message, "From")
    except Exception:
        senders = []
        parsed.defects.append("unreadable From header")
    if senders:
        parsed.from_name, parsed.from_address = senders[0]["name"], senders[0]["address"]
    parsed.date = _date(message, parsed)
    parsed.auto_submitted = _auto_submitted(message)
    if not with_body:
        return parsed
    try:
        _walk_parts(message, parsed)
    except Exception as exc:  # keep the headers; the body stays in the raw bytes
        parsed.defects.append(f"body unreadable: {type(exc).__name__}")
    return parsed
