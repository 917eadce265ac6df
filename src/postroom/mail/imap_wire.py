"""IMAP framing (RFC 3501 §7): responses with literals, LIST lines, modified UTF-7 names."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from enum import StrEnum

from postroom.mail.connect import Connection
from postroom.mail.errors import ProtocolError

# A response may carry literals ({n}CRLF + n bytes); more than this many is not a probe's LIST.
MAX_LITERALS = 1000
MAX_LITERAL_BYTES = 1024 * 1024
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r?\n$")
_RESPONSE_CODE = re.compile(r"^\[([^\]]*)\]")


class Status(StrEnum):
    """Tagged response status (RFC 3501 §7.1)."""

    OK = "OK"
    NO = "NO"
    BAD = "BAD"


@dataclass(frozen=True)
class Tagged:
    """The tagged end of a command, and the untagged lines that came before it."""

    status: Status
    text: str
    untagged: tuple[bytes, ...]

    def __str__(self) -> str:
        return f"{self.status.value} {self.text}".strip()

    @property
    def code(self) -> str:
        """The response code in brackets, e.g. "AUTHENTICATIONFAILED" (RFC 5530)."""
        found = _RESPONSE_CODE.match(self.text)
        return found.group(1) if found else ""


async def read_response(conn: Connection) -> bytes:
    """One logical response line, literals included in place, CRLF stripped."""
    parts: list[bytes] = []
    for _ in range(MAX_LITERALS):
        line = await conn.read_line()
        literal = _LITERAL.search(line)
        if literal is None:
            parts.append(line.rstrip(b"\r\n"))
            return b"".join(parts)
        size = int(literal.group(1))
        if size > MAX_LITERAL_BYTES:
            raise ProtocolError(f"The server sent a literal of {size} bytes in a short response.")
        # Inlined as a quoted string, so the callers parse one form only.
        data = (await conn.read_exactly(size)).replace(b"\\", b"\\\\").replace(b'"', b'\\"')
        parts.append(line[: literal.start()] + b'"' + data + b'"')
    raise ProtocolError("The server sent a response with too many literals.")


class Tags:
    """Command tags A1, A2, … (RFC 3501 §2.2.1: unique per command in a session)."""

    def __init__(self, prefix: str = "A") -> None:
        self._prefix = prefix
        self._count = 0

    def next(self) -> str:
        self._count += 1
        return f"{self._prefix}{self._count}"


def parse_tagged(line: bytes, tag: str) -> tuple[Status, str] | None:
    """(status, text) if `line` is the tagged response to `tag`."""
    text = line.decode("utf-8", "replace")
    if not text.startswith(tag + " "):
        return None
    status, _, rest = text[len(tag) + 1 :].partition(" ")
    try:
        return Status(status.upper()), rest
    except ValueError as exc:
        raise ProtocolError(f'The server answered with "{text[:200]}".') from exc


async def run_command(conn: Connection, tag: str, command: bytes) -> Tagged:
    """Send one command and read up to its tagged response."""
    await conn.write(tag.encode() + b" " + command + b"\r\n")
    return await read_until_tagged(conn, tag)


async def read_until_tagged(conn: Connection, tag: str) -> Tagged:
    untagged: list[bytes] = []
    while True:
        line = await read_response(conn)
        tagged = parse_tagged(line, tag)
        if tagged is not None:
            return Tagged(tagged[0], tagged[1], tuple(untagged))
        untagged.append(line)


def capabilities_in(text: str) -> set[str] | None:
    """Capabilities from "[CAPABILITY …]" in a response text, or None if there is none."""
    found = _RESPONSE_CODE.match(text.removeprefix("OK ").removeprefix("PREAUTH "))
    if found is None or not found.group(1).upper().startswith("CAPABILITY "):
        return None
    return {word.upper() for word in found.group(1).split()[1:]}


def capabilities_from(untagged: tuple[bytes, ...]) -> set[str]:
    for line in untagged:
        words = line.decode("utf-8", "replace").split()
        if len(words) > 1 and words[0] == "*" and words[1].upper() == "CAPABILITY":
            return {word.upper() for word in words[2:]}
    return set()


def quoted(value: str) -> bytes:
    """An IMAP quoted string (RFC 3501 §4.3); text with CR, LF or NUL needs a literal."""
    if any(ch in value for ch in "\r\n\0"):
        raise ProtocolError("A value with a line break cannot be sent as an IMAP string.")
    return b'"' + value.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'


@dataclass(frozen=True)
class ListedMailbox:
    flags: frozenset[str]  # upper case, e.g. "\\SENT", "\\NOSELECT"
    delimiter: str
    name: str  # decoded from modified UTF-7


_LIST_LINE = re.compile(
    r'^\* LIST \((?P<flags>[^)]*)\) (?P<delim>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)$', re.IGNORECASE
)


def _unquote(token: str) -> str:
    if token.startswith('"') and token.endswith('"') and len(token) >= 2:
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def parse_list(line: bytes) -> ListedMailbox | None:
    """A `* LIST (flags) "delim" name` line (RFC 3501 §7.2.2); None for other lines."""
    found = _LIST_LINE.match(line.decode("utf-8", "replace"))
    if found is None:
        return None
    delimiter = "" if found["delim"].upper() == "NIL" else _unquote(found["delim"])
    flags = frozenset(flag.upper() for flag in found["flags"].split())
    return ListedMailbox(flags, delimiter, decode_mailbox_name(_unquote(found["name"])))


def decode_mailbox_name(name: str) -> str:
    """Modified UTF-7 (RFC 3501 §5.1.3) to text: "Wys&AUI-ane" → "Wysłane"."""

    def shifted(match: re.Match[str]) -> str:
        body = match.group(1)
        if not body:
            return "&"
        data = body.replace(",", "/")
        data += "=" * (-len(data) % 4)
        try:
            return base64.b64decode(data).decode("utf-16-be")
        except ValueError:
            return match.group(0)  # not valid modified UTF-7: show it as it is

    return re.sub(r"&([^-]*)-", shifted, name)


def encode_mailbox_name(name: str) -> str:
    """Text to modified UTF-7, the form IMAP commands need."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = base64.b64encode("".join(pending).encode("utf-16-be")).decode()
            out.append("&" + raw.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)
