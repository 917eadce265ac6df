"""SMTP probe: as far as a real send without sending (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from postroom.enums import AuthMethod, Security
from postroom.mail import sasl
from postroom.mail.connect import Connection, Endpoint
from postroom.mail.credentials import Credentials
from postroom.mail.diagnose import DiagnosisContext
from postroom.mail.errors import NotOfferedError, ProtocolError
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
from postroom.mail.smtp_wire import (
    SmtpReply,
    SmtpReplyCode,
    auth_mechanisms,
    command,
    expect,
    parse_ehlo,
    read_reply,
)
from postroom.mail.steps import StepFailedError, StepRecorder
from postroom.mail.wire import other_protocol

C = SmtpReplyCode
PLANS = {
    security: (*connection_plan(security), StepName.MAIL_FROM, StepName.RCPT_TO, StepName.DATA)
    for security in Security
}


@dataclass(frozen=True)
class SmtpTarget:
    """An outgoing server and the login for it; `address` is the account's own address."""

    endpoint: Endpoint
    credentials: Credentials
    address: str


@dataclass
class SmtpSession:
    conn: Connection
    extensions: dict[str, str] = field(default_factory=dict)


def ehlo_name(conn: Connection) -> str:
    """Our address literal (RFC 5321 §4.1.3), since a service has no reliable own FQDN."""
    local = conn.local_address
    try:
        version = ipaddress.ip_address(local).version
    except ValueError:
        return "postroom.invalid"
    return f"[{local}]" if version == 4 else f"[IPv6:{local}]"


async def _ehlo(conn: Connection) -> SmtpSession:
    reply = await command(conn, f"EHLO {ehlo_name(conn)}")
    if reply.code in (C.COMMAND_UNRECOGNIZED, C.NOT_IMPLEMENTED):  # RFC 5321 §3.2: try HELO
        expect(await command(conn, f"HELO {ehlo_name(conn)}"), "HELO", C.OK)
        return SmtpSession(conn)
    expect(reply, "EHLO", C.OK)
    return SmtpSession(conn, parse_ehlo(reply))


async def _greeting(conn: Connection) -> str:
    """The 220 greeting (RFC 5321 §4.3.1); another protocol's greeting says which it is."""
    line = await conn.read_line()
    if (other := other_protocol(line, "SMTP")) is not None:
        raise ProtocolError(other)
    return str(expect(await read_reply(conn, line), "the connection", C.SERVICE_READY))


async def _starttls_preamble(conn: Connection) -> None:
    """Greeting, EHLO and STARTTLS without recording: to read an untrusted certificate."""
    await read_reply(conn)
    await command(conn, f"EHLO {ehlo_name(conn)}")
    expect(await command(conn, "STARTTLS"), "STARTTLS", C.SERVICE_READY)


async def open_session(run: ProbeRun, target: SmtpTarget) -> SmtpSession:
    """Connected, encrypted as chosen and logged in; each stage a recorded step."""
    conn = await reach(run)
    try:
        return await _handshake(run, conn, target)
    except BaseException:
        await conn.close()
        raise


async def _handshake(run: ProbeRun, conn: Connection, target: SmtpTarget) -> SmtpSession:
    rec, security = run.rec, run.endpoint.security
    if security is Security.TLS:
        await tls_step(run, conn, no_preamble)
    skip_tls(run)
    async with rec.step(StepName.GREETING) as step:
        step.detail = await _greeting(conn)
    session = await _capabilities(rec, conn)
    if security is Security.STARTTLS:
        async with rec.step(StepName.STARTTLS) as step:
            if "STARTTLS" not in session.extensions:
                raise NotOfferedError("The server does not offer STARTTLS.", feature="STARTTLS")
            step.detail = str(expect(await command(conn, "STARTTLS"), "STARTTLS", C.SERVICE_READY))
        await tls_step(run, conn, _starttls_preamble)
        # RFC 3207 §4.2: forget what was learnt before TLS and ask again.
        session = await _capabilities(rec, conn)
    elif security is Security.NONE:
        rec.skip(StepName.STARTTLS, "Security none: no STARTTLS")
    await _authenticate(run, session, target.credentials)
    return session


async def _capabilities(rec: StepRecorder, conn: Connection) -> SmtpSession:
    async with rec.step(StepName.CAPABILITIES) as step:
        session = await _ehlo(conn)
        step.detail = "EHLO: " + (", ".join(session.extensions) or "no extensions (HELO)")
    return session


async def _authenticate(run: ProbeRun, session: SmtpSession, credentials: Credentials) -> None:
    if credentials.method is AuthMethod.NONE:
        run.rec.skip(StepName.AUTH, "No authentication chosen")
        return
    stop_if_signed_out(run, credentials)
    async with run.rec.step(StepName.AUTH) as step:
        offered = auth_mechanisms(session.extensions)
        if not offered:
            await _refused_without_auth(run, session, credentials)
        mechanism = sasl.choose(
            credentials.method,
            offered,
            run.options.password_mechanisms,
            starttls_offered="STARTTLS" in session.extensions,
        )
        reply = await _sasl_exchange(session.conn, sasl.SaslClient(mechanism, credentials))
        step.detail = f"{mechanism.value} as {credentials.username}: {reply}"


async def _refused_without_auth(
    run: ProbeRun, session: SmtpSession, credentials: Credentials
) -> None:
    """The server lists no AUTH (e.g. Postfix before STARTTLS). Ask without credentials, so
    the refusal is in the server's own words and no password travels."""
    mechanism = sasl.candidates(credentials.method, run.options.password_mechanisms)[0]
    reply = await command(session.conn, f"AUTH {mechanism.value}")
    if reply.code == C.AUTH_CONTINUE:
        await command(session.conn, "*")  # RFC 4954 §4: "*" cancels the exchange
    raise NotOfferedError(
        "The server offers no login (AUTH) on this connection.",
        feature="AUTH",
        starttls_offered="STARTTLS" in session.extensions,
        server_reply=str(reply),
    )


async def _sasl_exchange(conn: Connection, client: sasl.SaslClient) -> SmtpReply:
    """RFC 4954 §4: AUTH with an initial response where there is one, then 334 round trips."""
    initial = client.initial_response()
    line = f"AUTH {client.mechanism.value}"
    if initial is not None:
        line += " " + (sasl.b64(initial).decode() or "=")
    reply = await command(conn, line)
    for _ in range(5):  # no mechanism used here needs more than two challenges
        if reply.code != C.AUTH_CONTINUE:
            break
        answer = client.respond(sasl.unb64(reply.text.encode()))
        reply = await command(conn, sasl.b64(answer).decode())
    return expect(reply, "AUTH", C.AUTH_SUCCEEDED)


async def _envelope(rec: StepRecorder, conn: Connection, target: SmtpTarget) -> None:
    async with rec.step(StepName.MAIL_FROM) as step:
        reply = await command(conn, f"MAIL FROM:<{target.address}>")
        step.detail = str(expect(reply, "MAIL FROM", C.OK))
    async with rec.step(StepName.RCPT_TO) as step:
        reply = await command(conn, f"RCPT TO:<{target.address}>")
        step.detail = str(expect(reply, "RCPT TO", C.OK, C.WILL_FORWARD))
    async with rec.step(StepName.DATA) as step:
        reply = await command(conn, "DATA")
        expect(reply, "DATA", C.START_MAIL_INPUT)
        # Nothing follows: only "<CRLF>.<CRLF>" confirms a transaction (RFC 5321 §4.1.1.4), so
        # closing the connection now sends nothing. RSET would be read as message text.
        step.detail = f"{reply}; stopped here, nothing was sent"


async def send_message(conn: Connection, sender: str, recipient: str, message: bytes) -> str:
    """A real send (the round trip): envelope, the message dot-stuffed, QUIT."""
    expect(await command(conn, f"MAIL FROM:<{sender}>"), "MAIL FROM", C.OK)
    expect(await command(conn, f"RCPT TO:<{recipient}>"), "RCPT TO", C.OK, C.WILL_FORWARD)
    expect(await command(conn, "DATA"), "DATA", C.START_MAIL_INPUT)
    await conn.write(dot_stuff(message) + b".\r\n")
    reply = expect(await read_reply(conn), "the message", C.OK)
    await command(conn, "QUIT")
    return str(reply)


def dot_stuff(message: bytes) -> bytes:
    """CRLF line ends and a doubled leading dot (RFC 5321 §4.5.2), ending in CRLF."""
    if not message:
        return b""
    if (
        message.endswith(b"\r\n")
        and not message.startswith(b".")
        and b"\r\n." not in message
        and message.count(b"\n") == message.count(b"\r\n")
    ):
        return message  # already CRLF throughout, no line starts with a dot: as it is
    # Whole-buffer replaces run in C: the outbox stuffs every message it sends (performance.md).
    text = message.replace(b"\r\n", b"\n")
    if not text.endswith(b"\n"):
        text += b"\n"
    text = text.replace(b"\n", b"\r\n").replace(b"\r\n.", b"\r\n..")
    return b"." + text if text.startswith(b".") else text


async def probe_smtp(
    target: SmtpTarget, options: ProbeOptions, deadline: float | None = None
) -> ProbeReport:
    """Every step up to the server's 354 for DATA; then the connection is dropped unsent."""
    endpoint, credentials = target.endpoint, target.credentials
    context = DiagnosisContext(
        ProbeKind.SMTP, endpoint, credentials.method, credentials.username, target.address
    )
    deadline = deadline if deadline is not None else steps_deadline(options)
    rec = StepRecorder(context, deadline, PLANS[endpoint.security], options.progress)
    run = ProbeRun(rec, endpoint, options)
    try:
        session = await open_session(run, target)
        try:
            await _envelope(rec, session.conn, target)
        finally:
            await session.conn.close()
    except StepFailedError:
        pass
    return rec.report()
