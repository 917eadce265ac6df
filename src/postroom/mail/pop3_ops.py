"""POP3 deletion by UIDL (RFC 1939 §7): for purges that must reach the server too."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from postroom.mail import pop3_probe
from postroom.mail.errors import ProtocolError
from postroom.mail.imap_probe import MailboxTarget
from postroom.mail.pop3_probe import Pop3Session
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.report import ProbeKind
from postroom.mail.sessions import _cause, _quiet_run
from postroom.mail.steps import StepFailedError

# A maildrop's UIDL listing has one line per message; far more than any real mailbox holds.
MAX_LISTING = 1_000_000


@dataclass(frozen=True)
class Deleted:
    deleted: frozenset[str]  # marked with DELE and removed at QUIT
    absent: frozenset[str]  # not on the server any more (deleted before, by anyone)


async def open_pop3(target: MailboxTarget, options: ProbeOptions) -> Pop3Session:
    """A POP3 session, logged in (the probes' handshake without a report); raises MailError."""
    try:
        return await pop3_probe.open_session(_quiet_run(ProbeKind.POP3, target, options), target)
    except StepFailedError as exc:
        cause = _cause(exc)
        raise cause from cause.__cause__


async def uidl_numbers(session: Pop3Session) -> dict[str, int]:
    """UIDL (RFC 1939 §7): each message's unique id -> its number in this session."""
    await session.command(b"UIDL", "UIDL")
    numbers: dict[str, int] = {}
    for _ in range(MAX_LISTING):
        raw = (await session.conn.read_line()).rstrip(b"\r\n")
        if raw == b".":
            return numbers
        number, _, uidl = raw.decode("utf-8", "replace").partition(" ")
        if number.isdigit() and uidl.strip():
            numbers[uidl.strip()] = int(number)
    raise ProtocolError("The server sent a UIDL listing that does not end.")


async def delete_by_uidl(session: Pop3Session, uidls: Collection[str]) -> Deleted:
    """DELE each message still there, then QUIT, which is when the server removes them
    (RFC 1939 §6, UPDATE state): a QUIT that is not answered +OK leaves them all in place."""
    numbers = await uidl_numbers(session)
    present = [uidl for uidl in uidls if uidl in numbers]
    for uidl in present:
        await session.command(f"DELE {numbers[uidl]}".encode(), "DELE")
    await session.command(b"QUIT", "QUIT")
    await session.conn.close()
    return Deleted(frozenset(present), frozenset(set(uidls) - set(present)))
