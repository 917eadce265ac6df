"""IMAP commands a mirror needs: LIST-STATUS, EXAMINE with CONDSTORE/QRESYNC, pipelined UID FETCH.

Typed values in, typed values out; the session (logged in) comes from mail/sessions.py. Every
command is one round trip except `fetch_batches`, which keeps several UID FETCH commands in
flight (RFC 3501 §5.5) so the server never waits for the client between batches.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncGenerator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from postroom.mail.errors import ServerRefusedError
from postroom.mail.imap_probe import ImapSession
from postroom.mail.imap_responses import (
    ListedFolder,
    Response,
    as_bytes,
    as_int,
    as_text,
    fetch_items,
    flags_of,
    parse_internal_date,
    parse_list,
    parse_status,
    parse_uid_set,
    read_response,
    response_code,
    untagged_number,
)
from postroom.mail.imap_wire import Status, parse_tagged, quoted

# RFC 7162 §3.1.2.1: UIDs above this are not real (a server that sends "*" = 2^32-1 as a UID).
MAX_UID = 2**32 - 1


@dataclass(frozen=True)
class Completed:
    """A command's tagged OK text and the untagged responses that came before it."""

    text: str
    untagged: tuple[Response, ...]


@dataclass(frozen=True)
class FolderStatus:
    """What STATUS (RFC 3501 §6.3.10) or LIST-STATUS (RFC 5819) says of a folder."""

    messages: int | None = None
    uidnext: int | None = None
    uidvalidity: int | None = None
    highest_modseq: int | None = None  # RFC 7162 CONDSTORE


@dataclass(frozen=True)
class ServerFolder:
    listed: ListedFolder
    status: FolderStatus | None  # None: the server gave none (no LIST-STATUS, or \Noselect)

    @property
    def selectable(self) -> bool:
        return not ({"\\NOSELECT", "\\NONEXISTENT"} & self.listed.flags)


@dataclass(frozen=True)
class FlagState:
    uid: int
    flags: frozenset[str]
    modseq: int | None = None


@dataclass(frozen=True)
class Selected:
    """A folder opened with EXAMINE, and what QRESYNC reported at once (RFC 7162 §3.2.5)."""

    uidvalidity: int
    uidnext: int | None
    exists: int
    highest_modseq: int | None
    vanished: tuple[int, ...] = ()
    changed: tuple[FlagState, ...] = ()


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    raw: bytes
    flags: frozenset[str]
    internal_date: datetime | None
    modseq: int | None


@dataclass
class Capabilities:
    """What this session may use, after ENABLE (RFC 5161)."""

    names: set[str]
    qresync: bool = False
    condstore: bool = field(init=False)

    def __post_init__(self) -> None:
        self.condstore = "CONDSTORE" in self.names or "QRESYNC" in self.names

    @property
    def list_status(self) -> bool:
        return "LIST-STATUS" in self.names

    @property
    def special_use(self) -> bool:
        return "SPECIAL-USE" in self.names or "XLIST" in self.names

    @property
    def idle(self) -> bool:
        return "IDLE" in self.names


async def send(session: ImapSession, command: bytes) -> str:
    """Write a command without waiting; the tag to read its answer with."""
    tag = session.tags.next()
    await session.conn.write(tag.encode() + b" " + command + b"\r\n")
    return tag


async def read_until(session: ImapSession, tag: str, name: str) -> Completed:
    """Responses up to the tagged one of `tag`; a NO or BAD is the server's refusal."""
    untagged: list[Response] = []
    while True:
        response = await read_response(session.conn)
        done = parse_tagged(response.first_line, tag) if not response.literals else None
        if done is None:
            untagged.append(response)
            continue
        status, text = done
        if status is not Status.OK:
            raise ServerRefusedError(f"{status.value} {text}", command=name)
        return Completed(text, tuple(untagged))


async def command(session: ImapSession, line: bytes, name: str) -> Completed:
    return await read_until(session, await send(session, line), name)


async def enable_qresync(session: ImapSession) -> Capabilities:
    """ENABLE QRESYNC when offered (RFC 7162 §3.2.3: needed before SELECT … (QRESYNC …))."""
    caps = Capabilities({name.upper() for name in session.capabilities})
    if "QRESYNC" in caps.names and "ENABLE" in caps.names:
        done = await command(session, b"ENABLE QRESYNC", "ENABLE")
        caps.qresync = any(
            b"QRESYNC" in r.first_line.upper()
            for r in done.untagged
            if r.first_line.upper().startswith(b"* ENABLED")
        )
    return caps


def _status_of(values: dict[str, int]) -> FolderStatus:
    return FolderStatus(
        messages=values.get("MESSAGES"),
        uidnext=values.get("UIDNEXT"),
        uidvalidity=values.get("UIDVALIDITY"),
        highest_modseq=values.get("HIGHESTMODSEQ"),
    )


def _status_items(caps: Capabilities) -> bytes:
    return b"MESSAGES UIDNEXT UIDVALIDITY" + (b" HIGHESTMODSEQ" if caps.condstore else b"")


async def list_folders(session: ImapSession, caps: Capabilities) -> list[ServerFolder]:
    """Every folder with its special-use flags (RFC 6154) and, in the same round trip where
    the server offers LIST-STATUS (RFC 5819), its status; else one pipelined STATUS each."""
    returns: list[bytes] = []
    if "SPECIAL-USE" in caps.names and "LIST-EXTENDED" in caps.names:
        returns.append(b"SPECIAL-USE")
    if caps.list_status:
        returns.append(b"STATUS (" + _status_items(caps) + b")")
    line = b'LIST "" "*"' + (b" RETURN (" + b" ".join(returns) + b")" if returns else b"")
    done = await command(session, line, "LIST")
    listed = [found for r in done.untagged if (found := parse_list(r)) is not None]
    statuses = {
        status[0]: _status_of(status[1])
        for r in done.untagged
        if (status := parse_status(r)) is not None
    }
    if not caps.list_status:
        statuses = await _pipelined_status(session, caps, listed)
    return [ServerFolder(item, statuses.get(item.raw_name)) for item in listed]


async def _pipelined_status(
    session: ImapSession, caps: Capabilities, listed: Sequence[ListedFolder]
) -> dict[str, FolderStatus]:
    selectable = [f for f in listed if not ({"\\NOSELECT", "\\NONEXISTENT"} & f.flags)]
    items = _status_items(caps)
    tags = [
        (f, await send(session, b"STATUS " + quoted(f.raw_name) + b" (" + items + b")"))
        for f in selectable
    ]
    result: dict[str, FolderStatus] = {}
    for folder, tag in tags:
        try:
            done = await read_until(session, tag, "STATUS")
        except ServerRefusedError:
            continue  # a folder that cannot be examined is synced (and refused) later
        for response in done.untagged:
            if (status := parse_status(response)) is not None:
                result[folder.raw_name] = _status_of(status[1])
    return result


@dataclass(frozen=True)
class Known:
    """What the client knows of a folder, for QRESYNC (RFC 7162 §3.2.5)."""

    uidvalidity: int
    highest_modseq: int


async def examine(
    session: ImapSession, caps: Capabilities, raw_name: str, known: Known | None = None
) -> Selected:
    """Open the folder read-only (RFC 3501 §6.3.2): nothing the mirror does changes it.

    With QRESYNC and `known`, expunges (VANISHED) and flag changes since `known` come with the
    answer; with CONDSTORE, HIGHESTMODSEQ does."""
    line = b"EXAMINE " + quoted(raw_name)
    if caps.qresync and known is not None:
        line += f" (QRESYNC ({known.uidvalidity} {known.highest_modseq}))".encode()
    elif caps.condstore:
        line += b" (CONDSTORE)"
    done = await command(session, line, "EXAMINE")
    return _selected(done.untagged)


def _selected(untagged: Sequence[Response]) -> Selected:
    codes: dict[str, str] = {}
    exists = 0
    vanished: list[int] = []
    changed: list[FlagState] = []
    for response in untagged:
        line = response.first_line
        if (code := response_code(line)) is not None:
            codes[code[0]] = code[1]
        elif (count := untagged_number(line, b"EXISTS")) is not None:
            exists = count
        elif line.upper().startswith(b"* VANISHED"):
            vanished += parse_uid_set(as_text(response.tokens()[-1]))
        elif (state := _flag_state(response)) is not None:
            changed.append(state)
    modseq = codes.get("HIGHESTMODSEQ", "")
    return Selected(
        uidvalidity=int(codes.get("UIDVALIDITY", "0") or 0),
        uidnext=int(codes["UIDNEXT"]) if codes.get("UIDNEXT", "").isdigit() else None,
        exists=exists,
        highest_modseq=int(modseq) if modseq.isdigit() and "NOMODSEQ" not in codes else None,
        vanished=tuple(vanished),
        changed=tuple(changed),
    )


def _flag_state(response: Response) -> FlagState | None:
    found = fetch_items(response)
    if found is None:
        return None
    uid = as_int(found[1].get("UID"))
    if uid is None or "FLAGS" not in found[1]:
        return None
    return FlagState(uid, flags_of(found[1]["FLAGS"]), as_int(found[1].get("MODSEQ")))


# "* 12 FETCH (UID 34 RFC822.SIZE 5678 INTERNALDATE "02-Jan-2024 07:00:21 +0000")", as Dovecot
# and most servers answer uid_sizes; other orders and forms go through fetch_items.
_LISTING = re.compile(
    rb'\* \d+ FETCH \(UID (\d+) RFC822\.SIZE (\d+) INTERNALDATE "([ -~]*)"\)\Z', re.IGNORECASE
)


# '* 1 FETCH (UID 1 FLAGS (\Seen) INTERNALDATE "…" MODSEQ (2) BODY[] {3134}', the literal,
# ")": how Dovecot answers fetch_batches; other orders and forms go through fetch_items.
_FETCHED = re.compile(
    rb"\* \d+ FETCH \(UID (\d+) FLAGS \(([!#-'*-z|~\\ ]*)\) INTERNALDATE \"([ -~]*)\""
    rb"(?: MODSEQ \((\d+)\))? BODY\[\] ?\Z",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Listing:
    uid: int
    size: int
    internal_date: datetime | None


async def uid_sizes(session: ImapSession, first_uid: int) -> list[Listing]:
    """UID, size and arrival time of every message with a UID >= first_uid, ascending.

    A FETCH, not a SEARCH: one short line per message, so no line grows with the folder, and
    the sizes let the caller cut batches that fit in memory. "n:*" also returns the highest
    message when it is below n (RFC 3501 §6.4.8), hence the filter.
    """
    line = f"UID FETCH {first_uid}:* (UID RFC822.SIZE INTERNALDATE)".encode()
    done = await command(session, line, "FETCH")
    found = [item for r in done.untagged if (item := listing_of(r, first_uid)) is not None]
    return sorted(found, key=lambda item: item.uid)


def listing_of(response: Response, first_uid: int = 1) -> Listing | None:
    """One line of uid_sizes' answer; None for any other response or a UID out of range."""
    simple = _LISTING.match(response.first_line) if not response.literals else None
    uid: int | None
    size: int | None
    if simple is not None:  # the usual answer line, read without tokenizing it
        uid, size, when = int(simple[1]), int(simple[2]), simple[3].decode("ascii")
    else:
        items = fetch_items(response)
        if items is None:
            return None
        uid, size = as_int(items[1].get("UID")), as_int(items[1].get("RFC822.SIZE"))
        when = as_text(items[1].get("INTERNALDATE"))
    if uid is None or not first_uid <= uid <= MAX_UID:
        return None
    return Listing(uid, size or 0, parse_internal_date(when) if when else None)


async def uid_flags(
    session: ImapSession, last_uid: int, *, changed_since: int | None = None
) -> list[FlagState]:
    """Flags of the messages with UIDs 1..last_uid; with `changed_since` (CONDSTORE, RFC 7162
    §3.1.4) only of those changed since that mod-sequence."""
    if last_uid < 1:
        return []
    line = f"UID FETCH 1:{last_uid} (UID FLAGS)"
    if changed_since is not None:
        line += f" (CHANGEDSINCE {changed_since})"
    done = await command(session, line.encode(), "FETCH")
    states = [state for r in done.untagged if (state := _flag_state(r)) is not None]
    return [state for state in states if state.uid <= last_uid]


async def uid_message_ids(session: ImapSession) -> list[tuple[int, int, bytes]]:
    """(uid, size, Message-ID header block) of every message: what a UIDVALIDITY change needs
    to recognise messages it has already."""
    line = b"UID FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
    done = await command(session, line, "FETCH")
    found: list[tuple[int, int, bytes]] = []
    for response in done.untagged:
        items = fetch_items(response)
        if items is None:
            continue
        uid = as_int(items[1].get("UID"))
        header = as_bytes(items[1].get("BODY[HEADER.FIELDS]")) or b""
        if uid is not None:
            found.append((uid, as_int(items[1].get("RFC822.SIZE")) or 0, header))
    return found


def _fetched(response: Response) -> FetchedMessage | None:
    simple = (
        _FETCHED.match(response.first_line)
        if len(response.literals) == 1 and response.fragments[1:] == (b")",)
        else None
    )
    if simple is not None:  # the usual answer, read without tokenizing it
        when = simple[3].decode("ascii")
        return FetchedMessage(
            uid=int(simple[1]),
            raw=response.literals[0],
            flags=frozenset(simple[2].decode("ascii").split()),
            internal_date=parse_internal_date(when) if when else None,
            modseq=int(simple[4]) if simple[4] is not None else None,
        )
    found = fetch_items(response)
    if found is None:
        return None
    items = found[1]
    uid, raw = as_int(items.get("UID")), as_bytes(items.get("BODY[]"))
    if uid is None or raw is None:
        return None  # an unsolicited flag update, not a message we asked for
    when = as_text(items.get("INTERNALDATE"))
    return FetchedMessage(
        uid=uid,
        raw=raw,
        flags=flags_of(items.get("FLAGS")),
        internal_date=parse_internal_date(when) if when else None,
        modseq=as_int(items.get("MODSEQ")),
    )


async def fetch_batches(
    session: ImapSession, batches: Iterator[str], *, modseq: bool, depth: int = 2
) -> AsyncGenerator[tuple[str, list[FetchedMessage]], None]:
    """(UID set, its messages) for each UID set taken from `batches`, in order.

    `depth` commands are in flight at once: while the client reads one batch, the server is
    already sending the next. Several sessions may share one iterator to split the work.
    BODY.PEEK leaves \\Seen alone (RFC 3501 §6.4.5).
    """
    items = "UID FLAGS INTERNALDATE BODY.PEEK[]" + (" MODSEQ" if modseq else "")
    waiting: deque[tuple[str, str]] = deque()

    async def request() -> None:
        uids = next(batches, None)
        if uids is not None:
            waiting.append((uids, await send(session, f"UID FETCH {uids} ({items})".encode())))

    for _ in range(depth):
        await request()
    while waiting:
        uids, tag = waiting.popleft()
        done = await read_until(session, tag, "FETCH")
        await request()
        yield uids, [message for r in done.untagged if (message := _fetched(r)) is not None]
