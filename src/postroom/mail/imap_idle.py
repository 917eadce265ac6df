"""IMAP IDLE (RFC 2177): wait in the selected folder until the server reports a change."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from postroom.mail.errors import ConnectionClosedError, ServerRefusedError
from postroom.mail.imap_probe import ImapSession
from postroom.mail.imap_responses import read_response
from postroom.mail.imap_sync_client import read_until, send

# RFC 2177 §3: clients should re-issue IDLE at least every 29 minutes, or be logged out.
MAX_IDLE_SECONDS = 25 * 60
_CHANGES = (b" EXISTS", b" EXPUNGE", b" FETCH ")


@dataclass(frozen=True)
class IdleResult:
    changed: bool  # EXISTS, EXPUNGE, VANISHED or FETCH (flags) arrived
    lines: tuple[bytes, ...]


def _is_change(line: bytes) -> bool:
    upper = line.upper()
    return upper.startswith(b"* VANISHED") or (
        upper.startswith(b"* ") and any(word in upper[:40] for word in _CHANGES)
    )


async def idle(session: ImapSession, *, seconds: float = MAX_IDLE_SECONDS) -> IdleResult:
    """IDLE until a change is announced or `seconds` pass, then DONE.

    The folder must be selected (or examined). A server that does not send the "+"
    continuation refuses IDLE; its tagged NO/BAD is raised as ServerRefusedError.
    """
    tag = await send(session, b"IDLE")
    lines: list[bytes] = []
    while True:  # untagged responses may come before the continuation
        response = await read_response(session.conn)
        line = response.first_line
        if line.startswith(b"+"):
            break
        if line.startswith(tag.encode() + b" "):
            raise ServerRefusedError(line.decode("utf-8", "replace"), command="IDLE")
        lines.append(line)
    changed = any(_is_change(line) for line in lines)
    if not changed:
        changed = await _wait_for_change(session, lines, min(seconds, MAX_IDLE_SECONDS))
    await session.conn.write(b"DONE\r\n")
    done = await read_until(session, tag, "IDLE")
    lines += [r.first_line for r in done.untagged]
    return IdleResult(changed or any(_is_change(line) for line in lines), tuple(lines))


async def _wait_for_change(session: ImapSession, lines: list[bytes], seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            while True:
                response = await read_response(session.conn)
                lines.append(response.first_line)
                if response.first_line.startswith(b"* BYE"):
                    raise ConnectionClosedError(response.first_line.decode("utf-8", "replace"))
                if _is_change(response.first_line):
                    return True
    except TimeoutError:
        return False
