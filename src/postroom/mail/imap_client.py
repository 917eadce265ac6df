"""IMAP commands for storing mail: LIST special-use, SELECT, SEARCH, APPEND, deleting by UID."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from postroom.mail.errors import ProtocolError, ServerRefusedError
from postroom.mail.imap_probe import ImapSession, find_sent_folder
from postroom.mail.imap_wire import (
    ListedMailbox,
    Status,
    Tagged,
    encode_mailbox_name,
    parse_list,
    parse_tagged,
    quoted,
    read_response,
    read_until_tagged,
)

# RFC 4315 §3: "[APPENDUID <uidvalidity> <uid>]" in the tagged OK of an APPEND.
_APPENDUID = re.compile(r"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)
# Common names of the drafts folder when the server marks none \Drafts (RFC 6154): generic,
# Outlook/Exchange, Gmail, Polish providers (WP, Onet, o2, Interia), Courier-style.
DRAFTS_NAMES = (
    "Drafts",
    "Draft",
    "Kopie robocze",
    "Robocze",
    "Szkice",
    "INBOX.Drafts",
    "INBOX/Drafts",
    "[Gmail]/Drafts",
    "[Gmail]/Wersje robocze",
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Appended:
    """Where an APPEND put the message (RFC 4315 APPENDUID); uid None if not reported."""

    uidvalidity: int | None
    uid: int | None


def mailbox_arg(name: str) -> bytes:
    """A mailbox name as a command argument: modified UTF-7 (RFC 3501 §5.1.3), quoted."""
    return quoted(encode_mailbox_name(name))


async def list_mailboxes(session: ImapSession) -> list[ListedMailbox]:
    """Every mailbox, with special-use flags (RFC 6154) when the server can return them."""
    extended = {"LIST-EXTENDED", "SPECIAL-USE"} <= session.capabilities
    line = b'LIST "" "*" RETURN (SPECIAL-USE)' if extended else b'LIST "" "*"'
    tagged = await session.command(line, "LIST")
    return [m for raw in tagged.untagged if (m := parse_list(raw)) is not None]


def find_drafts_folder(mailboxes: Iterable[ListedMailbox]) -> str | None:
    """The \\Drafts special-use mailbox (RFC 6154), else one with a common drafts name."""
    listed = [m for m in mailboxes if "\\NOSELECT" not in m.flags]
    for mailbox in listed:
        if "\\DRAFTS" in mailbox.flags:
            return mailbox.name
    by_name = {m.name.casefold(): m.name for m in listed}
    return next((by_name[n.casefold()] for n in DRAFTS_NAMES if n.casefold() in by_name), None)


def sent_folder_of(mailboxes: Iterable[ListedMailbox]) -> str | None:
    found = find_sent_folder(mailboxes)
    return found[0] if found else None


async def select(session: ImapSession, mailbox: str, *, readonly: bool = False) -> Tagged:
    verb = b"EXAMINE " if readonly else b"SELECT "
    return await session.command(verb + mailbox_arg(mailbox), verb.decode().strip())


async def search_header(session: ImapSession, header: str, value: str) -> list[int]:
    """UIDs in the selected mailbox whose `header` contains `value` (RFC 3501 §6.4.4)."""
    line = b"UID SEARCH HEADER " + quoted(header) + b" " + quoted(value)
    tagged = await session.command(line, "SEARCH")
    uids: list[int] = []
    for raw in tagged.untagged:
        words = raw.split()
        if len(words) >= 2 and words[1].upper() == b"SEARCH":
            uids += [int(word) for word in words[2:] if word.isdigit()]
    return uids


def internal_date(when: datetime) -> bytes:
    """RFC 3501 date-time: "05-Mar-2026 14:07:00 +0000" (when must be timezone-aware)."""
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    zone = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    month = _MONTHS[when.month - 1]
    return f'"{when.day:02d}-{month}-{when.year} {when:%H:%M:%S} {zone}"'.encode()


async def append(
    session: ImapSession,
    mailbox: str,
    message: bytes,
    *,
    flags: tuple[str, ...] = (),
    when: datetime | None = None,
) -> Appended:
    """APPEND (RFC 3501 §6.3.11) the message as a literal; a NO/BAD raises ServerRefusedError."""
    tag, conn = session.tags.next(), session.conn
    # RFC 7888 LITERAL+: the literal follows at once instead of after a "+" continuation.
    non_sync = "LITERAL+" in session.capabilities
    head = f"{tag} APPEND ".encode() + mailbox_arg(mailbox)
    if flags:
        head += b" (" + " ".join(flags).encode() + b")"
    if when is not None:
        head += b" " + internal_date(when)
    head += f" {{{len(message)}{'+' if non_sync else ''}}}\r\n".encode()
    await conn.write(head)
    if not non_sync:
        await _continuation(session, tag)
    await conn.write(message + b"\r\n")
    tagged = await read_until_tagged(conn, tag)
    if tagged.status is not Status.OK:
        raise ServerRefusedError(str(tagged), command="APPEND")
    found = _APPENDUID.search(tagged.text)
    if found is None:
        return Appended(None, None)
    return Appended(int(found.group(1)), int(found.group(2)))


async def _continuation(session: ImapSession, tag: str) -> None:
    """Wait for "+" (RFC 3501 §7.5); a tagged answer instead is the server's refusal."""
    for _ in range(100):  # untagged lines (EXISTS, …) may come first
        line = await read_response(session.conn)
        if line.startswith(b"+"):
            return
        tagged = parse_tagged(line, tag)
        if tagged is not None:
            raise ServerRefusedError(f"{tagged[0].value} {tagged[1]}", command="APPEND")
    raise ProtocolError("The server did not ask for the message of an APPEND.")


async def delete_uids(session: ImapSession, uids: Iterable[int]) -> None:
    """Remove messages of the selected mailbox by UID.

    With UIDPLUS, UID EXPUNGE (RFC 4315 §2.1) removes exactly these. Without it, they are only
    flagged \\Deleted: a plain EXPUNGE would also remove what the user flagged elsewhere.
    """
    numbers = ",".join(str(uid) for uid in uids)
    if not numbers:
        return
    await session.command(f"UID STORE {numbers} +FLAGS.SILENT (\\Deleted)".encode(), "STORE")
    if "UIDPLUS" in session.capabilities:
        await session.command(f"UID EXPUNGE {numbers}".encode(), "EXPUNGE")
