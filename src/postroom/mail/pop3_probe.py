"""POP3 probe: CAPA, STLS, login (SASL or USER/PASS), STAT (RFC 1939, 2449, 2595, 5034)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from postroom.enums import AuthMethod, Security
from postroom.mail import sasl
from postroom.mail.connect import Connection
from postroom.mail.credentials import Credentials
from postroom.mail.errors import NotOfferedError, ProtocolError, ServerRefusedError
from postroom.mail.imap_probe import MailboxTarget, context_for
from postroom.mail.probe_common import (
    ProbeOptions,
    ProbeRun,
    connection_plan,
    no_preamble,
    reach,
    skip_tls,
    steps_deadline,
    stop_if_signed_out,
    tls_step,
)
from postroom.mail.report import ProbeKind, ProbeReport, StepName
from postroom.mail.steps import StepFailedError, StepRecorder
from postroom.mail.wire import other_protocol

PLANS = {security: (*connection_plan(security), StepName.STAT) for security in Security}
MAX_MULTILINE = 10_000
# Headers of this many newest messages are read when looking for a sent test message.
RECENT_MESSAGES = 10
LOGOUT_SECONDS = 0.5


@dataclass
class Pop3Session:
    conn: Connection
    capabilities: dict[str, str] = field(default_factory=dict)  # CAPA tag → its arguments

    async def command(self, line: bytes, name: str) -> str:
        """Send `line`; the "+OK" text, or the server's "-ERR" words as a refusal."""
        await self.conn.write(line + b"\r\n")
        return expect_ok(await self.conn.read_line(), name)

    async def multiline(self, line: bytes, name: str) -> list[bytes]:
        """A command answered by "+OK" and lines up to "." (RFC 1939 §3), un-dot-stuffed."""
        await self.command(line, name)
        lines: list[bytes] = []
        for _ in range(MAX_MULTILINE):
            raw = (await self.conn.read_line()).rstrip(b"\r\n")
            if raw == b".":
                return lines
            lines.append(raw[1:] if raw.startswith(b"..") else raw)
        raise ProtocolError("The server sent a multi-line answer that does not end.")


def expect_ok(raw: bytes, name: str) -> str:
    text = raw.rstrip(b"\r\n").decode("utf-8", "replace")
    if text.startswith("+OK"):
        return text
    if text.startswith("-ERR"):
        raise ServerRefusedError(text, command=name)
    raise ProtocolError(f'The server answered {name} with "{text[:200]}", not +OK or -ERR.')


async def _greeting(conn: Connection) -> str:
    line = await conn.read_line()
    if (other := other_protocol(line, "POP3")) is not None:
        raise ProtocolError(other)
    return expect_ok(line, "the connection")


async def _starttls_preamble(conn: Connection) -> None:
    await _greeting(conn)
    await Pop3Session(conn).command(b"STLS", "STLS")


async def _capabilities(rec: StepRecorder, session: Pop3Session) -> None:
    async with rec.step(StepName.CAPABILITIES) as step:
        try:
            lines = await session.multiline(b"CAPA", "CAPA")
        except ServerRefusedError:  # CAPA is RFC 2449, newer than some servers
            session.capabilities = {}
            step.detail = "CAPA not supported"
            return
        caps = (line.decode("utf-8", "replace").partition(" ") for line in lines)
        session.capabilities = {tag.upper(): args for tag, _, args in caps}
        step.detail = "CAPA: " + ", ".join(session.capabilities)


async def open_session(run: ProbeRun, target: MailboxTarget) -> Pop3Session:
    """Connected, encrypted as chosen and logged in; each stage a recorded step."""
    conn = await reach(run)
    try:
        return await _handshake(run, Pop3Session(conn), target.credentials)
    except BaseException:
        await conn.close()
        raise


async def _handshake(run: ProbeRun, session: Pop3Session, credentials: Credentials) -> Pop3Session:
    rec, security = run.rec, run.endpoint.security
    if security is Security.TLS:
        await tls_step(run, session.conn, no_preamble)
    skip_tls(run)
    async with rec.step(StepName.GREETING) as step:
        step.detail = await _greeting(session.conn)
    await _capabilities(rec, session)
    if security is Security.STARTTLS:
        async with rec.step(StepName.STARTTLS) as step:
            if session.capabilities and "STLS" not in session.capabilities:
                raise NotOfferedError("The server does not offer STLS.", feature="STARTTLS")
            step.detail = await session.command(b"STLS", "STLS")
        await tls_step(run, session.conn, _starttls_preamble)
        await _capabilities(rec, session)  # RFC 2595 §4: capabilities may differ after TLS
    elif security is Security.NONE:
        rec.skip(StepName.STARTTLS, "Security none: no STLS")
    await _authenticate(run, session, credentials)
    return session


async def _authenticate(run: ProbeRun, session: Pop3Session, credentials: Credentials) -> None:
    if credentials.method is AuthMethod.NONE:
        run.rec.skip(StepName.AUTH, "No authentication chosen")
        return
    stop_if_signed_out(run, credentials)
    async with run.rec.step(StepName.AUTH) as step:
        offered = session.capabilities.get("SASL", "").split()
        try:
            mechanism = sasl.choose(credentials.method, offered, run.options.password_mechanisms)
        except NotOfferedError:
            if credentials.method is not AuthMethod.PASSWORD:
                raise
            text, how = await _user_pass(session, credentials), "USER/PASS"
        else:
            text, how = await _sasl(session, sasl.SaslClient(mechanism, credentials)), mechanism
        step.detail = f"{how} as {credentials.username}: {text}"


async def _user_pass(session: Pop3Session, credentials: Credentials) -> str:
    """RFC 1939 §7 USER and PASS, for servers without SASL PLAIN or LOGIN."""
    secret = credentials.secret.reveal() if credentials.secret else ""
    if any(ch in credentials.username + secret for ch in "\r\n"):
        raise ProtocolError("A login or password with a line break cannot be sent by POP3.")
    await session.command(b"USER " + credentials.username.encode(), "USER")
    return await session.command(b"PASS " + secret.encode(), "login (PASS)")


async def _sasl(session: Pop3Session, client: sasl.SaslClient) -> str:
    """RFC 5034 AUTH: the initial response inline ("=" when empty), then "+ " challenges."""
    initial = client.initial_response()
    line = f"AUTH {client.mechanism.value}".encode()
    if initial is not None:
        line += b" " + (sasl.b64(initial) or b"=")
    await session.conn.write(line + b"\r\n")
    for _ in range(10):
        raw = await session.conn.read_line()
        if not raw.startswith(b"+ ") and raw.rstrip(b"\r\n") != b"+":
            return expect_ok(raw, f"login ({client.mechanism.value})")
        answer = client.respond(sasl.unb64(raw[1:]))
        await session.conn.write(sasl.b64(answer) + b"\r\n")
    raise ProtocolError("The server kept the authentication exchange going too long.")


async def close_session(session: Pop3Session) -> None:
    """QUIT (RFC 1939 §6; it also ends the lock on the maildrop), then close."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(LOGOUT_SECONDS):
            await session.command(b"QUIT", "QUIT")
    await session.conn.close()


async def has_message(session: Pop3Session, message_id: str) -> bool:
    """Whether one of the newest messages has `message_id` (headers only, with TOP)."""
    count = int((await session.command(b"STAT", "STAT")).split()[1])
    needle = message_id.encode().lower()  # unique, so found anywhere in the headers is enough
    for number in range(count, max(0, count - RECENT_MESSAGES), -1):
        lines = await session.multiline(f"TOP {number} 0".encode(), "TOP")
        if needle in b"\n".join(lines).lower():
            return True
    return False


async def probe_pop3(
    target: MailboxTarget, options: ProbeOptions, deadline: float | None = None
) -> ProbeReport:
    """Log in and count the messages (STAT)."""
    deadline = deadline if deadline is not None else steps_deadline(options)
    plan = PLANS[target.endpoint.security]
    rec = StepRecorder(context_for(target, ProbeKind.POP3), deadline, plan, options.progress)
    try:
        session = await open_session(ProbeRun(rec, target.endpoint, options), target)
        try:
            async with rec.step(StepName.STAT) as step:
                text = await session.command(b"STAT", "STAT")
                parts = text.split()
                step.detail = f"{parts[1] if len(parts) > 1 else '?'} messages; {text}"
        finally:
            await close_session(session)
    except StepFailedError:
        pass
    return rec.report()
