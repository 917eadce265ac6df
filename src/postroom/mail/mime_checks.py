"""What an outgoing message may contain: each refusal names the field at fault, never a fix."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from postroom.addresses import InvalidAddressError, ascii_address
from postroom.errors import FieldProblem

MAX_SUBJECT_CHARS = 1000
MAX_NAME_CHARS = 200  # a display name
MAX_FILENAME_CHARS = 255
# Message-IDs we thread to; bounded so that one always fits a header line (RFC 5322 §2.1.1).
MAX_MESSAGE_ID_CHARS = 250
MAX_REFERENCES = 100
MEBIBYTE = 1024 * 1024
# RFC 5321 §4.5.3.1.8: a server must accept at least 100 recipients per message.
DEFAULT_MAX_RECIPIENTS = 100
DEFAULT_MAX_ATTACHMENT_BYTES = 25 * MEBIBYTE
DEFAULT_MAX_MESSAGE_BYTES = 40 * MEBIBYTE  # 25 MiB in base64 is 34 MiB, plus the bodies

# CR and LF end a header line (RFC 5322 §2.2), so in a value they would start a header of the
# sender's choosing ("header injection"); NUL and the other controls have no place in a header
# either (§3.2.3 allows only visible characters and white space). NEL and the Unicode line and
# paragraph separators are line breaks to str.splitlines(), which the email package uses.
_LINE_BREAKS = re.compile(r"[\r\n\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")
# id-left "@" id-right (RFC 5322 §3.6.4), printable ASCII without the angle brackets.
_MESSAGE_ID = re.compile(r"^[!-;=?-~]+@[!-;=?-~]+$")


@dataclass(frozen=True)
class MimeLimits:
    """Sizes and counts the operator allows (POSTROOM_MAX_* settings)."""

    max_recipients: int = DEFAULT_MAX_RECIPIENTS
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES


def header_text_problem(value: str) -> str | None:
    """Why `value` cannot be a header's text, or None."""
    if _LINE_BREAKS.search(value):
        return "must not contain line breaks (CR, LF or other)"
    if "\0" in value:
        return "must not contain NUL characters"
    if _CONTROLS.search(value):
        return "must not contain control characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    return None


def text_field(field: str, value: str, max_chars: int) -> Iterator[FieldProblem]:
    if (problem := header_text_problem(value)) is not None:
        yield FieldProblem(field, f"{field} {problem}.", "forbidden_character")
    elif len(value) > max_chars:
        yield FieldProblem(field, f"{field} is longer than {max_chars} characters.", "too_long")


def address_field(field: str, address: str, name: str) -> Iterator[FieldProblem]:
    """A mailbox: its address valid and ASCII-sendable, its display name safe in a header."""
    try:
        ascii_address(address)
    except InvalidAddressError as exc:
        yield FieldProblem(field, f"{field}: {exc}.", "invalid_address")
    yield from text_field(f"{field}.name" if name else field, name, MAX_NAME_CHARS)


def message_id_field(field: str, value: str) -> Iterator[FieldProblem]:
    if (problem := header_text_problem(value)) is not None:
        yield FieldProblem(field, f"{field} {problem}.", "forbidden_character")
        return
    if len(value) > MAX_MESSAGE_ID_CHARS or not _MESSAGE_ID.match(bare_message_id(value)):
        yield FieldProblem(
            field,
            f"{field} must be one Message-ID such as <abc.123@example.com> "
            f"(at most {MAX_MESSAGE_ID_CHARS} characters).",
            "invalid_message_id",
        )


def bare_message_id(value: str) -> str:
    """The id without its angle brackets: "<a@b>" and "a@b" are both "a@b"."""
    value = value.strip()
    return value[1:-1] if value.startswith("<") and value.endswith(">") else value


def attachment_field(
    field: str, filename: str, content_type: str, size: int, limits: MimeLimits
) -> Iterator[FieldProblem]:
    if not filename.strip():
        yield FieldProblem(field, f"{field} needs a file name.", "required")
    else:
        yield from text_field(field, filename, MAX_FILENAME_CHARS)
    if not _CONTENT_TYPE.match(content_type) or content_type.lower().startswith("multipart/"):
        yield FieldProblem(
            field,
            f"{field}: {content_type!r} is not a content type such as application/pdf.",
            "invalid_content_type",
        )
    if size > limits.max_attachment_bytes:
        yield FieldProblem(
            field,
            f"{field} is {megabytes(size)}; an attachment may have at most "
            f"{megabytes(limits.max_attachment_bytes)}.",
            "too_large",
        )


def megabytes(size: int) -> str:
    return f"{size / MEBIBYTE:.1f} MB"
