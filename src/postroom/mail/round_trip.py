""" "Send a test message to myself": a real message through SMTP must reach the incoming box."""

from __future__ import annotations

import asyncio
import time
import uuid
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

from postroom.enums import IncomingProtocol
from postroom.mail import imap_probe, pop3_probe, smtp_probe
from postroom.mail.connect import Endpoint
from postroom.mail.diagnose import DiagnosisContext
from postroom.mail.errors import MessageNotFoundError
from postroom.mail.imap_probe import MailboxTarget
from postroom.mail.probe_common import ProbeOptions, ProbeRun
from postroom.mail.report import ProbeKind, ProbeReport, StepName
from postroom.mail.smtp_probe import SmtpTarget
from postroom.mail.steps import StepFailedError, StepRecorder

PLAN = (StepName.SEND, StepName.DELIVERY)
POP3_POLL_SECONDS = 0.5
# Stop looking this long before the deadline, so "not arrived" is reported, not a timeout.
GIVE_UP_MARGIN_SECONDS = 0.3


def build_test_message(address: str) -> tuple[bytes, str]:
    """The message and its Message-ID; the id is unique, so the search cannot find another."""
    domain = address.rpartition("@")[2] or "postroom.invalid"
    message_id = f"<postroom-test-{uuid.uuid4().hex}@{domain}>"
    message = EmailMessage()
    message["From"] = address
    message["To"] = address
    message["Subject"] = "Postroom: test message"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message.set_content(
        "Postroom sent this message to check that this account can send and receive mail.\n"
        "You may delete it.\n"
    )
    return message.as_bytes(policy=SMTP), message_id


async def _send(
    outgoing: SmtpTarget, options: ProbeOptions, deadline: float, message: bytes
) -> str:
    # The steps of this session were shown by the outgoing test; only a failure is reported.
    quiet = _quiet_recorder(outgoing.endpoint, outgoing, deadline)
    session = await smtp_probe.open_session(ProbeRun(quiet, outgoing.endpoint, options), outgoing)
    try:
        return await smtp_probe.send_message(
            session.conn, outgoing.address, outgoing.address, message
        )
    finally:
        await session.conn.close()


async def _arrived_imap(
    incoming: MailboxTarget, options: ProbeOptions, deadline: float, message_id: str
) -> None:
    quiet = _quiet_recorder(incoming.endpoint, incoming, deadline, ProbeKind.IMAP)
    run = ProbeRun(quiet, incoming.endpoint, options)
    session = await imap_probe.open_session(run, incoming)
    try:
        await imap_probe.wait_for_message(session, message_id, deadline - GIVE_UP_MARGIN_SECONDS)
    finally:
        await imap_probe.close_session(session)


async def _arrived_pop3(
    incoming: MailboxTarget, options: ProbeOptions, deadline: float, message_id: str
) -> None:
    # A POP3 session sees the maildrop as it was at login (RFC 1939 §8): log in again per look.
    loop = asyncio.get_running_loop()
    while loop.time() < deadline - GIVE_UP_MARGIN_SECONDS - POP3_POLL_SECONDS:
        quiet = _quiet_recorder(incoming.endpoint, incoming, deadline, ProbeKind.POP3)
        session = await pop3_probe.open_session(
            ProbeRun(quiet, incoming.endpoint, options), incoming
        )
        try:
            if await pop3_probe.has_message(session, message_id):
                return
        finally:
            await pop3_probe.close_session(session)
        await asyncio.sleep(POP3_POLL_SECONDS)
    raise MessageNotFoundError(f"No message with Message-ID {message_id} arrived in the mailbox.")


def _quiet_recorder(
    endpoint: Endpoint,
    target: SmtpTarget | MailboxTarget,
    deadline: float,
    kind: ProbeKind = ProbeKind.SMTP,
) -> StepRecorder:
    creds = target.credentials
    context = DiagnosisContext(kind, endpoint, creds.method, creds.username, target.address)
    return StepRecorder(context, deadline)


async def round_trip(
    outgoing: SmtpTarget,
    incoming: MailboxTarget | None,
    protocol: IncomingProtocol,
    options: ProbeOptions,
    deadline: float,
) -> ProbeReport:
    """Send one message to the account's own address and wait until it is in the mailbox."""
    creds = outgoing.credentials
    context = DiagnosisContext(
        ProbeKind.ROUND_TRIP, outgoing.endpoint, creds.method, creds.username, outgoing.address
    )
    rec = StepRecorder(context, deadline, PLAN, options.progress)
    message, message_id = build_test_message(outgoing.address)
    try:
        async with rec.step(StepName.SEND) as step:
            step.detail = f"{message_id} accepted: " + await _send(
                outgoing, options, deadline, message
            )
        sent = time.monotonic()
        if incoming is None or protocol is IncomingProtocol.NONE:
            rec.skip(StepName.DELIVERY, "No incoming server: the arrival cannot be checked")
            return rec.report()
        async with rec.step(StepName.DELIVERY) as step:
            if protocol is IncomingProtocol.POP3:
                await _arrived_pop3(incoming, options, deadline, message_id)
            else:
                await _arrived_imap(incoming, options, deadline, message_id)
            step.detail = f"Arrived in the mailbox {time.monotonic() - sent:.1f} s after sending"
    except StepFailedError:
        pass
    return rec.report()
