"""The parts of a stored message: one part's decoded bytes, inline images, download headers.

A part is named by its index in `Message.walk()` order, the same number parse.py writes into
a message's attachment list, so a list entry and a download always mean the same part.
"""

from __future__ import annotations

import base64
import email
import mimetypes
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message
from urllib.parse import quote

from postroom.mail.parse import clean

# Inline (cid:) images go into the page as data: URIs; beyond this they show as missing.
MAX_INLINE_IMAGE_BYTES = 5 * 1024 * 1024
MAX_INLINE_TOTAL_BYTES = 15 * 1024 * 1024
_MAX_FILENAME = 200
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_PATH_SEPARATORS = re.compile(r"[/\\]")
_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")
_ASCII_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\%;]')
# Letters NFKD does not take apart into an ASCII letter and a mark.
_ASCII_LETTERS = str.maketrans({"ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o"})


@dataclass(frozen=True)
class PartContent:
    """One leaf part, decoded from its transfer encoding (base64, quoted-printable)."""

    index: int
    content_type: str
    charset: str | None
    filename: str
    data: bytes


def parse_raw(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=policy.default)


def leaf_parts(message: Message) -> Iterator[tuple[int, Message]]:
    """(walk() index, part) of every part that holds content rather than other parts."""
    for index, part in enumerate(message.walk()):
        if not part.is_multipart():
            yield index, part


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:  # a broken RFC 2231 parameter: the part is still downloadable
        name = None
    return clean(name) if name else ""


def _payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a broken transfer encoding: what the message holds, undecoded
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def part_content(message: Message, index: int) -> PartContent | None:
    for found, part in leaf_parts(message):
        if found == index:
            content_type = part.get_content_type()
            return PartContent(
                index=index,
                content_type=content_type if _CONTENT_TYPE.match(content_type) else "",
                charset=part.get_content_charset(),
                filename=_filename(part),
                data=_payload(part),
            )
    return None


def _content_id(part: Message) -> str | None:
    value = part.get("Content-ID")
    if value is None:
        return None
    return str(value).strip().strip("<>").strip() or None


@dataclass(frozen=True)
class InlineImage:
    index: int  # the part's walk() index
    data_uri: str


def inline_images(message: Message) -> dict[str, InlineImage]:
    """Content-ID -> the image part a cid: URL may name (RFC 2392), as a data: URI."""
    found: dict[str, InlineImage] = {}
    total = 0
    for index, part in leaf_parts(message):
        content_id = _content_id(part)
        content_type = part.get_content_type()
        if content_id is None or not content_type.startswith("image/"):
            continue
        if not _CONTENT_TYPE.match(content_type):
            continue
        data = _payload(part)
        if len(data) > MAX_INLINE_IMAGE_BYTES or total + len(data) > MAX_INLINE_TOTAL_BYTES:
            continue
        total += len(data)
        uri = f"data:{content_type};base64,{base64.b64encode(data).decode()}"
        found[content_id] = InlineImage(index, uri)
    return found


def safe_filename(text: str) -> str:
    """`text` as a file name: no path separators or control characters; may be empty."""
    return _UNSAFE_IN_NAME.sub("_", text).strip(" .")[:_MAX_FILENAME]


def download_name(filename: str, content_type: str, fallback: str) -> str:
    """A name to save the part as: its own (without a path some mailers put before it),
    else `fallback` with the type's extension."""
    name = safe_filename(_PATH_SEPARATORS.split(filename)[-1])
    if name:
        return name
    extension = mimetypes.guess_extension(content_type or "") or ".bin"
    return fallback + extension


def _ascii_name(filename: str) -> str:
    decomposed = unicodedata.normalize("NFKD", filename.translate(_ASCII_LETTERS))
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _ASCII_UNSAFE.sub("_", letters) or "download"


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266: an ASCII `filename` for old clients and the exact UTF-8 `filename*` (RFC 8187),
    so "Faktura żółć.pdf" is saved under its own name."""
    name = _UNSAFE_IN_NAME.sub("_", filename)
    return (
        f"{disposition}; filename=\"{_ascii_name(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
