"""IMAP probe: CAPABILITY, STARTTLS, login, LIST (and the Sent folder), SELECT INBOX."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from postroom.enums import AuthMethod, Security
from postroom.mail import sasl
from postroom.mail.connect import Connection, Endpoint
from postroom.mail.credentials import Credentials
from postroom.mail.diagnose import DiagnosisContext
from postroom.mail.errors import (
    MessageNotFoundError,
    NotOfferedError,
    ProtocolError,
    ServerRefusedError,
)
from postroom.mail.imap_wire import (
    ListedMailbox,
    Status,
    Tagged,
    Tags,
    capabilities_from,
    capabilities_in,
    parse_list,
    parse_tagged,
    quoted,
    read_response,
    run_command,
)
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
from postroom.mail.report import Advice, ProbeKind, ProbeReport, StepName
from postroom.mail.steps import StepFailedError, StepRecorder
from postroom.mail.wire import other_protocol

PLANS = {
    security: (*connection_plan(security), StepName.LIST, StepName.SENT_FOLDER, StepName.SELECT)
    for security in Security
}
# Where clients and providers put sent mail when the server marks no folder \Sent (RFC 6154):
# generic, Outlook/Exchange, Apple, Gmail, Polish providers (WP, Onet, o2, Interia), Courier.
SENT_NAMES = (
    "Sent",
    "Sent Items",
    "Sent Messages",
    "Sent Mail",
    "Wysłane",
    "Elementy wysłane",
    "Wysłane elementy",
    "INBOX.Sent",
    "INBOX/Sent",
    "[Gmail]/Sent Mail",
)
POLL_SECONDS = 0.25
LOGOUT_SECONDS = 0.5


@dataclass(frozen=True)
class MailboxTarget:
    """An incoming server and the login for it; `address` is the account's own address."""

    endpoint: Endpoint
    credentials: Credentials
    address: str


@dataclass
class ImapSession:
    conn: Connection
    tags: Tags = field(default_factory=Tags)
    capabilities: set[str] = field(default_factory=set)

    async def command(self, command: bytes, name: str) -> Tagged:
        """Run `command`; a NO or BAD is the server's refusal, in its words."""
        tagged = await run_command(self.conn, self.tags.next(), command)
        if tagged.status is not Status.OK:
            raise ServerRefusedError(str(tagged), command=name)
        return tagged


async def _greeting(conn: Connection) -> tuple[str, set[str] | None]:
    """The greeting (RFC 3501 §7.1) and the capabilities it may carry."""
    line = await read_response(conn)
    if (other := other_protocol(line, "IMAP")) is not None:
        raise ProtocolError(other)
    text = line.decode("utf-8", "replace")
    if text.upper().startswith("* BYE"):
        raise ServerRefusedError(text, command="the connection")
    if not text.upper().startswith(("* OK", "* PREAUTH")):
        raise ProtocolError(f'The server greeted with "{text[:200]}", not an IMAP greeting.')
    return text, capabilities_in(text[2:])


async def _starttls_preamble(conn: Connection) -> None:
    await read_response(conn)
    tagged = await run_command(conn, "S1", b"STARTTLS")
    if tagged.status is not Status.OK:
        raise ServerRefusedError(str(tagged), command="STARTTLS")


async def open_session(run: ProbeRun, target: MailboxTarget) -> ImapSession:
    """Connected, encrypted as chosen and logged in; each stage a recorded step."""
    conn = await reach(run)
    try:
        return await _handshake(run, ImapSession(conn), target.credentials)
    except BaseException:
        await conn.close()
        raise


async def _handshake(run: ProbeRun, session: ImapSession, credentials: Credentials) -> ImapSession:
    rec, conn, security = run.rec, session.conn, run.endpoint.security
    if security is Security.TLS:
        await tls_step(run, conn, no_preamble)
    skip_tls(run)
    async with rec.step(StepName.GREETING) as step:
        step.detail, greeted = await _greeting(conn)
    await _capabilities(rec, session, greeted)
    if security is Security.STARTTLS:
        async with rec.step(StepName.STARTTLS) as step:
            if "STARTTLS" not in session.capabilities:
                raise NotOfferedError("The server does not offer STARTTLS.", feature="STARTTLS")
            step.detail = str(await session.command(b"STARTTLS", "STARTTLS"))
        await tls_step(run, conn, _starttls_preamble)
        await _capabilities(rec, session, None)  # RFC 3501 §6.2.1: ask again after TLS
    elif security is Security.NONE:
        rec.skip(StepName.STARTTLS, "Security none: no STARTTLS")
    await _authenticate(run, session, credentials)
    return session


async def _capabilities(rec: StepRecorder, session: ImapSession, known: set[str] | None) -> None:
    async with rec.step(StepName.CAPABILITIES) as step:
        if known is None:
            known = capabilities_from((await session.command(b"CAPABILITY", "CAPABILITY")).untagged)
        session.capabilities = known
        step.detail = "CAPABILITY: " + " ".join(sorted(known))


async def _authenticate(run: ProbeRun, session: ImapSession, credentials: Credentials) -> None:
    if credentials.method is AuthMethod.NONE:
        run.rec.skip(StepName.AUTH, "No authentication chosen")
        return
    stop_if_signed_out(run, credentials)
    async with run.rec.step(StepName.AUTH) as step:
        caps = session.capabilities
        offered = [c.removeprefix("AUTH=") for c in caps if c.startswith("AUTH=")]
        try:
            mechanism = sasl.choose(credentials.method, offered, run.options.password_mechanisms)
        except NotOfferedError:
            if credentials.method is not AuthMethod.PASSWORD:
                raise
            tagged, how = await _login_command(session, credentials), "LOGIN"
        else:
            tagged, how = await _sasl(session, sasl.SaslClient(mechanism, credentials)), mechanism
        if tagged.status is not Status.OK:
            raise ServerRefusedError(str(tagged), command=f"login ({how})")
        after = capabilities_in(tagged.text) or capabilities_from(tagged.untagged)
        session.capabilities = after or await _ask_capabilities(session)
        step.detail = f"{how} as {credentials.username}: {tagged}"


async def _ask_capabilities(session: ImapSession) -> set[str]:
    return capabilities_from((await session.command(b"CAPABILITY", "CAPABILITY")).untagged)


async def _login_command(session: ImapSession, credentials: Credentials) -> Tagged:
    """RFC 3501 §6.2.3 LOGIN, for servers that offer no SASL PLAIN or LOGIN."""
    if "LOGINDISABLED" in session.capabilities:
        raise NotOfferedError(
            "The server refuses logins on this connection (LOGINDISABLED).",
            feature="LOGIN",
            starttls_offered="STARTTLS" in session.capabilities,
        )
    secret = credentials.secret.reveal() if credentials.secret else ""
    line = b"LOGIN " + quoted(credentials.username) + b" " + quoted(secret)
    return await run_command(session.conn, session.tags.next(), line)


async def _sasl(session: ImapSession, client: sasl.SaslClient) -> Tagged:
    """AUTHENTICATE (RFC 3501 §6.2.2), with the initial response inline if SASL-IR (RFC 4959)."""
    tag, conn = session.tags.next(), session.conn
    initial = client.initial_response()
    line = f"{tag} AUTHENTICATE {client.mechanism.value}".encode()
    if initial is not None and "SASL-IR" in session.capabilities:
        line += b" " + (sasl.b64(initial) or b"=")
        initial = None
    await conn.write(line + b"\r\n")
    untagged: list[bytes] = []
    for _ in range(10):
        response = await read_response(conn)
        if (done := parse_tagged(response, tag)) is not None:
            return Tagged(done[0], done[1], tuple(untagged))
        if not response.startswith(b"+"):
            untagged.append(response)
            continue
        if initial is not None:  # the server asked for the initial response with "+ "
            answer, initial = initial, None
        else:
            answer = client.respond(sasl.unb64(response[1:]))
        await conn.write(sasl.b64(answer) + b"\r\n")
    raise ProtocolError("The server kept the authentication exchange going too long.")


def find_sent_folder(mailboxes: Iterable[ListedMailbox]) -> tuple[str, str] | None:
    """(name, how it was found): the \\Sent special use (RFC 6154) first, then common names."""
    listed = [m for m in mailboxes if "\\NOSELECT" not in m.flags]
    for mailbox in listed:
        if "\\SENT" in mailbox.flags:
            return mailbox.name, "marked \\Sent by the server"
    by_name = {m.name.casefold(): m.name for m in listed}
    for name in SENT_NAMES:
        if (found := by_name.get(name.casefold())) is not None:
            return found, "found by its name"
    return None


async def _folders(rec: StepRecorder, session: ImapSession) -> None:
    async with rec.step(StepName.LIST) as step:
        extended = {"LIST-EXTENDED", "SPECIAL-USE"} <= session.capabilities
        command = b'LIST "" "*" RETURN (SPECIAL-USE)' if extended else b'LIST "" "*"'
        tagged = await session.command(command, "LIST")
        mailboxes = [m for line in tagged.untagged if (m := parse_list(line)) is not None]
        names = [m.name for m in mailboxes]
        step.detail = f"{len(names)} folders: " + ", ".join(names[:12]) + (" …" * (len(names) > 12))
    async with rec.step(StepName.SENT_FOLDER) as step:
        found = find_sent_folder(mailboxes)
        if found is None:
            step.detail = "No Sent folder found"
            step.advice = Advice.SENT_FOLDER_MISSING
            step.advice_text = "Choose the folder for sent copies in the account's options."
        else:
            rec.facts["sent_folder"] = found[0]
            step.detail = f"{found[0]} ({found[1]})"
    async with rec.step(StepName.SELECT) as step:
        tagged = await session.command(b"SELECT INBOX", "SELECT INBOX")
        exists = [ln.split()[1] for ln in tagged.untagged if ln.upper().endswith(b" EXISTS")]
        count = exists[-1].decode() if exists else "?"
        step.detail = f"INBOX: {count} messages; {tagged}"


async def close_session(session: ImapSession) -> None:
    """LOGOUT (RFC 3501 §6.1.3) if the server still answers quickly, then close."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(LOGOUT_SECONDS):
            await run_command(session.conn, session.tags.next(), b"LOGOUT")
    await session.conn.close()


async def wait_for_message(session: ImapSession, message_id: str, deadline: float) -> None:
    """Poll the INBOX until a message with `message_id` is there, or raise at `deadline`."""
    loop = asyncio.get_running_loop()
    await session.command(b"SELECT INBOX", "SELECT INBOX")
    search = b"UID SEARCH HEADER Message-ID " + quoted(message_id)
    while loop.time() < deadline:
        tagged = await session.command(search, "SEARCH")
        if any(line.split()[2:] for line in tagged.untagged if line.startswith(b"* SEARCH")):
            return
        await asyncio.sleep(POLL_SECONDS)
        await session.command(b"NOOP", "NOOP")  # RFC 3501 §6.1.2: lets new mail show up
    raise MessageNotFoundError(f"No message with Message-ID {message_id} arrived in the INBOX.")


def context_for(target: MailboxTarget, kind: ProbeKind) -> DiagnosisContext:
    creds = target.credentials
    return DiagnosisContext(kind, target.endpoint, creds.method, creds.username, target.address)


async def probe_imap(
    target: MailboxTarget, options: ProbeOptions, deadline: float | None = None
) -> ProbeReport:
    """Log in, list the folders (finding Sent) and open the INBOX."""
    deadline = deadline if deadline is not None else steps_deadline(options)
    plan = PLANS[target.endpoint.security]
    rec = StepRecorder(context_for(target, ProbeKind.IMAP), deadline, plan, options.progress)
    try:
        session = await open_session(ProbeRun(rec, target.endpoint, options), target)
        try:
            await _folders(rec, session)
        finally:
            await close_session(session)
    except StepFailedError:
        pass
    return rec.report()
