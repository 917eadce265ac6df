"""IMAP commands that change a mailbox: folders, moves, flags, expunges, Message-ID lookups."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from postroom.mail.errors import ProtocolError
from postroom.mail.imap_client import mailbox_arg, select
from postroom.mail.imap_probe import ImapSession
from postroom.mail.imap_wire import Tagged, parse_list

# RFC 4315 §3: "[COPYUID <uidvalidity> <source uid set> <destination uid set>]".
_COPYUID = re.compile(r"\[COPYUID (\d+) ([\d:,]+) ([\d:,]+)\]", re.IGNORECASE)
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)
_EXISTS = re.compile(rb"^\* (\d+) EXISTS", re.IGNORECASE)
_STATUS_ITEMS = re.compile(rb"\(([^()]*)\)\s*$")
_FETCH_UID = re.compile(rb"\bUID (\d+)", re.IGNORECASE)
_QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"', re.DOTALL)
# Commands stay well under servers' line limits (Dovecot: 64 KiB) with this many UIDs each.
UIDS_PER_COMMAND = 500
SYSTEM_FLAGS = ("\\Seen", "\\Flagged", "\\Answered", "\\Draft")


@dataclass(frozen=True)
class Selected:
    """What SELECT told about a mailbox (RFC 3501 §7.1, §7.3.1)."""

    uidvalidity: int | None
    exists: int


@dataclass(frozen=True)
class Copied:
    """Where a COPY or MOVE put each message (RFC 4315 COPYUID); empty if not reported."""

    uidvalidity: int | None
    uids: dict[int, int]  # source UID -> destination UID


def uid_set(uids: Iterable[int]) -> str:
    """UIDs as a compact sequence set (RFC 3501 §9): 1,2,3,7 -> "1:3,7"."""
    ordered = sorted(set(uids))
    parts: list[str] = []
    start = previous = None
    for uid in ordered:
        if previous is not None and uid == previous + 1:
            previous = uid
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}:{previous}")
        start = previous = uid
    if start is not None:
        parts.append(str(start) if start == previous else f"{start}:{previous}")
    return ",".join(parts)


def parse_uid_set(text: str) -> list[int]:
    """A sequence set of UIDs in the order written ("5:3" counts down, RFC 3501 §9)."""
    out: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition(":")
        low, high = int(first), int(last or first)
        step = 1 if high >= low else -1
        out.extend(range(low, high + step, step))
    return out


def chunks(uids: Sequence[int], size: int = UIDS_PER_COMMAND) -> list[list[int]]:
    ordered = sorted(set(uids))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


async def open_mailbox(session: ImapSession, mailbox: str) -> Selected:
    """SELECT (read-write) and the mailbox's UIDVALIDITY and message count."""
    return selected_state(await select(session, mailbox))


def selected_state(tagged: Tagged) -> Selected:
    uidvalidity, exists = None, 0
    for line in tagged.untagged:
        if found := _UIDVALIDITY.search(line):
            uidvalidity = int(found.group(1))
        elif found := _EXISTS.match(line):
            exists = int(found.group(1))
    return Selected(uidvalidity, exists)


async def hierarchy_delimiter(session: ImapSession) -> str:
    """The server's hierarchy delimiter (RFC 3501 §6.3.8: LIST "" "")."""
    tagged = await session.command(b'LIST "" ""', "LIST")
    for raw in tagged.untagged:
        if (listed := parse_list(raw)) is not None:
            return listed.delimiter
    return "/"


async def create_mailbox(session: ImapSession, name: str, *, special_use: str = "") -> None:
    """CREATE (RFC 3501 §6.3.3); with a special use (RFC 6154 §3) where the server takes one."""
    line = b"CREATE " + mailbox_arg(name)
    if special_use and "CREATE-SPECIAL-USE" in session.capabilities:
        line += f" (USE ({special_use}))".encode()
    await session.command(line, "CREATE")


async def rename_mailbox(session: ImapSession, old: str, new: str) -> None:
    """RENAME (RFC 3501 §6.3.5): the server moves the subfolders along."""
    await session.command(b"RENAME " + mailbox_arg(old) + b" " + mailbox_arg(new), "RENAME")


async def delete_mailbox(session: ImapSession, name: str) -> None:
    """DELETE (RFC 3501 §6.3.4); the server's messages in it go with it."""
    await session.command(b"DELETE " + mailbox_arg(name), "DELETE")


async def message_count(session: ImapSession, mailbox: str) -> int:
    """STATUS MESSAGES (RFC 3501 §6.3.10), without selecting the mailbox."""
    tagged = await session.command(b"STATUS " + mailbox_arg(mailbox) + b" (MESSAGES)", "STATUS")
    for line in tagged.untagged:
        if not line.upper().startswith(b"* STATUS"):
            continue
        found = _STATUS_ITEMS.search(line)
        words = found.group(1).split() if found else []
        pairs = dict(zip(words[::2], words[1::2], strict=False))
        if b"MESSAGES" in pairs:
            return int(pairs[b"MESSAGES"])
    raise ProtocolError("The server answered STATUS without a message count.")


def _copied(tagged: Tagged) -> Copied:
    """COPYUID from the tagged OK (COPY) or an untagged OK before it (MOVE, RFC 6851 §4.3)."""
    texts = [tagged.text, *(line.decode("utf-8", "replace") for line in tagged.untagged)]
    uidvalidity: int | None = None
    uids: dict[int, int] = {}
    for text in texts:
        for found in _COPYUID.finditer(text):
            uidvalidity = int(found.group(1))
            source, target = parse_uid_set(found.group(2)), parse_uid_set(found.group(3))
            uids.update(zip(source, target, strict=False))
    return Copied(uidvalidity, uids)


async def move_uids(session: ImapSession, uids: Sequence[int], target: str) -> Copied:
    """Move messages of the selected mailbox to `target`.

    UID MOVE (RFC 6851) where offered; else UID COPY, then \\Deleted and UID EXPUNGE of
    exactly these (RFC 4315). Without UIDPLUS the originals stay flagged \\Deleted: a plain
    EXPUNGE would also remove what the user flagged \\Deleted in another client.
    """
    uidvalidity: int | None = None
    mapping: dict[int, int] = {}
    for part in chunks(uids):
        arguments = uid_set(part).encode() + b" " + mailbox_arg(target)
        if "MOVE" in session.capabilities:
            tagged = await session.command(b"UID MOVE " + arguments, "MOVE")
        else:
            tagged = await session.command(b"UID COPY " + arguments, "COPY")
            await expunge_uids(session, part)
        copied = _copied(tagged)
        uidvalidity = copied.uidvalidity or uidvalidity
        mapping.update(copied.uids)
    return Copied(uidvalidity, mapping)


async def store_flags(
    session: ImapSession, uids: Sequence[int], flags: Sequence[str], *, add: bool
) -> None:
    """UID STORE ±FLAGS.SILENT (RFC 3501 §6.4.6) on messages of the selected mailbox."""
    if not flags:
        return
    change = (b" +" if add else b" -") + b"FLAGS.SILENT (" + " ".join(flags).encode() + b")"
    for part in chunks(uids):
        await session.command(b"UID STORE " + uid_set(part).encode() + change, "STORE")


async def expunge_uids(session: ImapSession, uids: Sequence[int]) -> None:
    """Flag \\Deleted, then UID EXPUNGE exactly these (RFC 4315 §2.1) where UIDPLUS is offered."""
    await store_flags(session, uids, ("\\Deleted",), add=True)
    if "UIDPLUS" not in session.capabilities:
        return
    for part in chunks(uids):
        await session.command(b"UID EXPUNGE " + uid_set(part).encode(), "EXPUNGE")


async def uids_between(session: ImapSession, low: int, high: int) -> list[int]:
    """UIDs of the selected mailbox from `low` to `high` (never "*": RFC 3501 §6.4.8 makes
    "n:*" match the highest message even below n)."""
    if low > high:
        return []
    tagged = await session.command(f"UID SEARCH UID {low}:{high}".encode(), "SEARCH")
    found: list[int] = []
    for raw in tagged.untagged:
        words = raw.split()
        if len(words) >= 2 and words[1].upper() == b"SEARCH":
            found += [int(word) for word in words[2:] if word.isdigit()]
    return [uid for uid in found if low <= uid <= high]


def _unescape(data: bytes) -> bytes:
    return re.sub(rb"\\(.)", rb"\1", data, flags=re.DOTALL)


def _message_id_of(header_block: bytes) -> str | None:
    value = BytesHeaderParser(policy=compat32).parsebytes(header_block).get("Message-ID")
    if value is None:
        return None
    text = " ".join(str(value).split())
    found = re.search(r"<([^<>\s]+)>", text)
    return found.group(1) if found else (text or None)


async def message_ids(session: ImapSession, mailbox: str) -> dict[str, list[int]]:
    """Message-ID (without brackets) -> UIDs of every message in `mailbox`, in one command:
    fetching the one header of all messages beats a UID SEARCH per message by far."""
    selected = await select(session, mailbox, readonly=True)
    if selected_state(selected).exists == 0:
        return {}
    line = b"UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
    tagged = await session.command(line, "FETCH")
    found: dict[str, list[int]] = {}
    for raw in tagged.untagged:
        quoted_data = _QUOTED.search(raw)
        outside = _QUOTED.sub(b"", raw)
        uid = _FETCH_UID.search(outside)
        if uid is None or quoted_data is None:
            continue
        message_id = _message_id_of(_unescape(quoted_data.group(1)))
        if message_id:
            found.setdefault(message_id, []).append(int(uid.group(1)))
    return found
