"""SMTP framing: replies (RFC 5321 §4.2) and EHLO keywords; no session state here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from postroom.mail.connect import Connection
from postroom.mail.errors import ProtocolError, ServerRefusedError

# A reply of more lines than this is a broken or hostile server, not a chatty one.
MAX_REPLY_LINES = 200


class SmtpReplyCode(IntEnum):
    """The reply codes the probes act on (RFC 5321 §4.2.2/§4.2.3, RFC 4954 §6)."""

    SERVICE_READY = 220
    CLOSING = 221
    AUTH_SUCCEEDED = 235
    OK = 250
    WILL_FORWARD = 251
    AUTH_CONTINUE = 334
    START_MAIL_INPUT = 354
    COMMAND_UNRECOGNIZED = 500
    NOT_IMPLEMENTED = 502


@dataclass(frozen=True)
class SmtpReply:
    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(line for line in self.lines if line)

    @property
    def positive(self) -> bool:
        """2xx or 3xx: completed, or waiting for more (RFC 5321 §4.2.1)."""
        return 200 <= self.code < 400

    def __str__(self) -> str:
        return f"{self.code} {self.text}".rstrip()


def parse_reply_line(raw: bytes) -> tuple[int, bool, str]:
    """(code, is the last line, text) of one reply line: "250-SIZE 1000" or "250 OK"."""
    line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
    code, separator, text = line[:3], line[3:4], line[4:]
    if not code.isdigit() or separator not in ("", " ", "-"):
        raise ProtocolError(f'The server sent a line that is not an SMTP reply: "{line[:200]}".')
    return int(code), separator != "-", text


async def read_reply(conn: Connection, first: bytes | None = None) -> SmtpReply:
    """A whole reply, multi-line ones included; `first` is its first line if already read."""
    lines: list[str] = []
    for _ in range(MAX_REPLY_LINES):
        raw, first = (first, None) if first is not None else (await conn.read_line(), None)
        code, last, text = parse_reply_line(raw)
        lines.append(text)
        if last:
            return SmtpReply(code, tuple(lines))
    raise ProtocolError(f"The server sent a reply of more than {MAX_REPLY_LINES} lines.")


async def command(conn: Connection, line: str) -> SmtpReply:
    await conn.write(line.encode() + b"\r\n")
    return await read_reply(conn)


def expect(reply: SmtpReply, command_name: str, *codes: int) -> SmtpReply:
    """The reply if its code is one of `codes`; otherwise the server's refusal, in its words."""
    if reply.code in codes:
        return reply
    raise ServerRefusedError(str(reply), command=command_name, reply_code=reply.code)


def parse_ehlo(reply: SmtpReply) -> dict[str, str]:
    """EHLO keyword (upper case) → its parameters; the first line is the server's name."""
    extensions: dict[str, str] = {}
    for line in reply.lines[1:]:
        keyword, _, params = line.strip().partition(" ")
        if keyword:
            extensions[keyword.upper()] = params.strip()
    return extensions


def auth_mechanisms(extensions: dict[str, str]) -> tuple[str, ...]:
    return tuple(extensions.get("AUTH", "").upper().split())
