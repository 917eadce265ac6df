"""Reading IMAP responses that carry big literals, and parsing FETCH, LIST and STATUS data.

A mirror reads whole messages as literals (RFC 3501 §4.3), so a response is read as text
fragments with the literal bytes kept apart, never copied into a string. The fragments are
then split into tokens; only the short text around the literals is ever tokenized.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from postroom.mail.connect import Connection
from postroom.mail.errors import ProtocolError
from postroom.mail.imap_wire import decode_mailbox_name

# A message can be large, but not unboundedly: a server announcing more is broken or hostile.
MAX_LITERAL_BYTES = 1024 * 1024 * 1024
# A response line (literals apart): a VANISHED (EARLIER) or SEARCH answer of a large mailbox
# lists its UIDs on one line, ranges where they run on, so megabytes are possible.
MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_LITERALS_PER_RESPONSE = 1000
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r?\n$")
_TOKEN = re.compile(rb'[ \t]*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+))')
# "BODY[HEADER.FIELDS (MESSAGE-ID)]" holds spaces and parentheses inside its brackets.
_SECTION = re.compile(rb"(BODY|BINARY)\[([^\]]*)\]", re.IGNORECASE)
_CODE = re.compile(rb"^\* (?:OK|NO|BAD) \[([A-Z-]+)(?: ([^\]]*))?\]", re.IGNORECASE)
_PROTECT = bytes.maketrans(b" ()", b"\x00\x01\x02")
_UNPROTECT = bytes.maketrans(b"\x00\x01\x02", b" ()")
_MONTH_ORDER = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = frozenset(_MONTH_ORDER)
_MONTH_NUMBERS = {name: number for number, name in enumerate(_MONTH_ORDER, 1)}
# The common form, read without the email package; anything else goes the long way.
_INTERNAL_DATE = re.compile(
    r"\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-]\d{4})\Z"
)
_ZONES: dict[str, timezone] = {}


@dataclass(frozen=True)
class Literal:
    """A literal's bytes, as one token."""

    data: bytes


Token = str | bytes | Literal | None | list["Token"]


@dataclass(frozen=True)
class Response:
    """One response: its text with each literal replaced by "{}" in `text`, and the literals."""

    fragments: tuple[bytes, ...]
    literals: tuple[bytes, ...]

    @property
    def first_line(self) -> bytes:
        return self.fragments[0]

    def tokens(self) -> list[Token]:
        """The response as nested tokens: "(" … ")" become lists; NIL becomes None."""
        flat: list[Token | tuple[str]] = []
        for index, fragment in enumerate(self.fragments):
            flat.extend(_tokenize(fragment))
            if index < len(self.literals):
                flat.append(Literal(self.literals[index]))
        nested, _ = _nest(flat, 0)
        return nested


async def read_response(conn: Connection) -> Response:
    """One complete response: a line, and for each literal it announces, the literal and the
    rest of the line after it (RFC 3501 §7.5)."""
    fragments: list[bytes] = []
    literals: list[bytes] = []
    for _ in range(MAX_LITERALS_PER_RESPONSE):
        line = await conn.read_line(MAX_LINE_BYTES)
        found = _LITERAL.search(line)
        if found is None:
            fragments.append(line.rstrip(b"\r\n"))
            return Response(tuple(fragments), tuple(literals))
        size = int(found.group(1))
        if size > MAX_LITERAL_BYTES:
            raise ProtocolError(f"The server announced a literal of {size} bytes.")
        fragments.append(line[: found.start()])
        literals.append(await conn.read_exactly(size))
    raise ProtocolError("The server sent a response with too many literals.")


def _tokenize(fragment: bytes) -> list[Token | tuple[str]]:
    fragment = _SECTION.sub(_protect_section, fragment)
    out: list[Token | tuple[str]] = []
    position = 0
    while position < len(fragment):
        found = _TOKEN.match(fragment, position)
        if found is None:
            break  # trailing spaces or a lone quote: nothing more to read
        position = found.end()
        opening, closing, quoted, atom = found.groups()
        if opening:
            out.append(("(",))
        elif closing:
            out.append((")",))
        elif quoted is not None:
            out.append(re.sub(rb"\\(.)", rb"\1", quoted))
        elif atom is not None:
            text = atom.translate(_UNPROTECT).decode("utf-8", "replace")
            out.append(None if text.upper() == "NIL" else text)
    return out


def _protect_section(found: re.Match[bytes]) -> bytes:
    return found.group(1) + b"[" + found.group(2).translate(_PROTECT) + b"]"


def _nest(flat: list[Token | tuple[str]], start: int) -> tuple[list[Token], int]:
    out: list[Token] = []
    index = start
    while index < len(flat):
        token = flat[index]
        index += 1
        if token == ("(",):
            inner, index = _nest(flat, index)
            out.append(inner)
        elif token == (")",):
            return out, index
        else:
            assert not isinstance(token, tuple)
            out.append(token)
    return out, index


def as_text(token: Token) -> str:
    """An atom, quoted string or literal as text (names, dates); '' for NIL or a list."""
    if isinstance(token, str):
        return token
    if isinstance(token, bytes):
        return token.decode("utf-8", "replace")
    if isinstance(token, Literal):
        return token.data.decode("utf-8", "replace")
    return ""


def as_bytes(token: Token) -> bytes | None:
    if isinstance(token, Literal):
        return token.data
    if isinstance(token, bytes):
        return token
    if isinstance(token, str):
        return token.encode()
    return None


def as_int(token: Token) -> int | None:
    if isinstance(token, list) and len(token) == 1:
        token = token[0]  # MODSEQ (12345)
    text = as_text(token)
    return int(text) if text.isdigit() else None


def response_code(line: bytes) -> tuple[str, str] | None:
    """("UIDVALIDITY", "3857529045") from "* OK [UIDVALIDITY 3857529045] UIDs valid"."""
    found = _CODE.match(line)
    if found is None:
        return None
    return found.group(1).decode().upper(), (found.group(2) or b"").decode("utf-8", "replace")


def untagged_number(line: bytes, word: bytes) -> int | None:
    """n from "* n EXISTS" (word=b"EXISTS")."""
    parts = line.split(b" ", 3)
    if len(parts) >= 3 and parts[0] == b"*" and parts[2].upper() == word and parts[1].isdigit():
        return int(parts[1])
    return None


def parse_internal_date(text: str) -> datetime | None:
    """RFC 3501 date-time: "17-Jul-1996 02:44:25 -0700"."""
    found = _INTERNAL_DATE.match(text)
    # -0000 means "no zone" and years below 100 are read as 19xx/20xx: the long way.
    if found is not None and found.group(7) != "-0000" and int(found.group(3)) >= 100:
        day, month, year, hour, minute, second, zone = found.groups()
        number = _MONTH_NUMBERS.get(month.upper())
        if number is None:
            return None
        try:
            return datetime(
                int(year), number, int(day), int(hour), int(minute), int(second), tzinfo=_zone(zone)
            )
        except ValueError:
            return None
    try:
        date_part, time_part, zone = text.split()
        day, month, year = date_part.split("-")
        if month.upper() not in _MONTHS:
            return None
        return parsedate_to_datetime(f"{int(day)} {month.title()} {year} {time_part} {zone}")
    except (ValueError, IndexError, TypeError):
        return None


def _zone(text: str) -> timezone:
    found = _ZONES.get(text)
    if found is None:
        minutes = int(text[1:3]) * 60 + int(text[3:5])
        found = _ZONES[text] = timezone(timedelta(minutes=-minutes if text[0] == "-" else minutes))
    return found


def fetch_items(response: Response) -> tuple[int, dict[str, Token]] | None:
    """(sequence number, {ITEM: value}) of a "* n FETCH (…)" response; None for others."""
    head = response.first_line
    if not head.startswith(b"* ") or b" FETCH " not in head[:40].upper():
        return None
    tokens = response.tokens()
    if len(tokens) < 4 or not isinstance(tokens[3], list) or not as_text(tokens[1]).isdigit():
        return None
    pairs = tokens[3]
    items: dict[str, Token] = {}
    for index in range(0, len(pairs) - 1, 2):
        items[_item_name(as_text(pairs[index]))] = pairs[index + 1]
    return int(as_text(tokens[1])), items


def _item_name(atom: str) -> str:
    """BODY[]<0> → BODY[]; BODY[HEADER.FIELDS (MESSAGE-ID)] → BODY[HEADER.FIELDS]."""
    key = atom.upper()
    if "[" not in key or "]" not in key:
        return key
    section = key[key.index("[") + 1 : key.rindex("]")].split(" ")[0]
    return f"{key[: key.index('[')]}[{section}]"


def flags_of(token: Token) -> frozenset[str]:
    if not isinstance(token, list):
        return frozenset()
    return frozenset(as_text(flag) for flag in token if as_text(flag))


@dataclass(frozen=True)
class ListedFolder:
    """A LIST line: the server's raw (encoded) name for commands, and the decoded one."""

    raw_name: str
    name: str
    delimiter: str | None
    flags: frozenset[str]  # upper case: "\\SENT", "\\NOSELECT", "\\HASCHILDREN"


def parse_list(response: Response) -> ListedFolder | None:
    """`* LIST (flags) "delim" name [extended data]` (RFC 3501 §7.2.2, RFC 5258)."""
    if not response.first_line.upper().startswith(b"* LIST "):
        return None
    tokens = response.tokens()
    if len(tokens) < 5 or not isinstance(tokens[2], list):
        return None
    flags = frozenset(as_text(flag).upper() for flag in tokens[2])
    delimiter = as_text(tokens[3]) if tokens[3] is not None else None
    raw = as_text(tokens[4])
    return ListedFolder(raw, decode_mailbox_name(raw), delimiter or None, flags)


def parse_status(response: Response) -> tuple[str, dict[str, int]] | None:
    """(raw name, {"UIDNEXT": …}) of `* STATUS name (MESSAGES n UIDNEXT n …)` (RFC 3501 §7.2.4)."""
    if not response.first_line.upper().startswith(b"* STATUS "):
        return None
    tokens = response.tokens()
    if len(tokens) < 4 or not isinstance(tokens[3], list):
        return None
    pairs = tokens[3]
    values: dict[str, int] = {}
    for index in range(0, len(pairs) - 1, 2):
        number = as_int(pairs[index + 1])
        if number is not None:
            values[as_text(pairs[index]).upper()] = number
    return as_text(tokens[2]), values


def parse_uid_set(text: str) -> list[int]:
    """ "1:3,7,9:10" → [1, 2, 3, 7, 9, 10] (RFC 3501 §9 sequence-set; no "*" in answers)."""
    uids: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition(":")
        if not low.isdigit() or (high and not high.isdigit()):
            continue
        first, last = int(low), int(high or low)
        if first > last:
            first, last = last, first
        uids.extend(range(first, last + 1))
    return uids


def uid_set(uids: list[int]) -> str:
    """[1, 2, 3, 7] → "1:3,7": the shortest form of sorted UIDs for a command."""
    parts: list[str] = []
    ordered = sorted(uids)
    index = 0
    while index < len(ordered):
        start = end = ordered[index]
        while index + 1 < len(ordered) and ordered[index + 1] == end + 1:
            index += 1
            end = ordered[index]
        parts.append(str(start) if start == end else f"{start}:{end}")
        index += 1
    return ",".join(parts)
