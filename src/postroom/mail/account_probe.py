"""The whole "test account": outgoing and incoming probes at once, then the optional round trip."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from postroom.enums import IncomingProtocol
from postroom.mail.imap_probe import MailboxTarget, probe_imap
from postroom.mail.pop3_probe import probe_pop3
from postroom.mail.probe_common import ProbeOptions, steps_deadline
from postroom.mail.report import (
    AccountTestReport,
    ProbeKind,
    ProbeReport,
    Step,
    StepName,
    StepStatus,
)
from postroom.mail.round_trip import round_trip
from postroom.mail.smtp_probe import SmtpTarget, probe_smtp


@dataclass(frozen=True)
class AccountTarget:
    """What to test; a side left None is not tested (e.g. only the incoming settings changed)."""

    outgoing: SmtpTarget | None
    incoming: MailboxTarget | None
    incoming_protocol: IncomingProtocol
    send_test_message: bool = False


async def _incoming(
    target: AccountTarget, options: ProbeOptions, deadline: float
) -> ProbeReport | None:
    if target.incoming is None or target.incoming_protocol is IncomingProtocol.NONE:
        return None
    if target.incoming_protocol is IncomingProtocol.POP3:
        return await probe_pop3(target.incoming, options, deadline)
    return await probe_imap(target.incoming, options, deadline)


async def _outgoing(
    target: AccountTarget, options: ProbeOptions, deadline: float
) -> ProbeReport | None:
    if target.outgoing is None:
        return None
    return await probe_smtp(target.outgoing, options, deadline)


def _not_tried(outgoing: SmtpTarget, why: str) -> ProbeReport:
    endpoint = outgoing.endpoint
    steps = (Step(StepName.SEND, StepStatus.SKIPPED, detail=why),)
    return ProbeReport(
        ProbeKind.ROUND_TRIP, endpoint.host, endpoint.port, endpoint.security, steps, 0
    )


async def probe_account(target: AccountTarget, options: ProbeOptions) -> AccountTestReport:
    """Both servers in parallel, all within `options.timeout_seconds`; nothing is sent unless
    `send_test_message` (then only after both sides passed)."""
    started = time.monotonic()
    deadline = steps_deadline(options)
    outgoing, incoming = await asyncio.gather(
        _outgoing(target, options, deadline), _incoming(target, options, deadline)
    )
    trip: ProbeReport | None = None
    if target.send_test_message and target.outgoing is not None:
        passed = all(report.ok for report in (outgoing, incoming) if report is not None)
        if passed:
            trip = await round_trip(
                target.outgoing, target.incoming, target.incoming_protocol, options, deadline
            )
        else:
            trip = _not_tried(target.outgoing, "Not sent: fix the failed step first")
    duration = round((time.monotonic() - started) * 1000)
    return AccountTestReport(outgoing, incoming, trip, duration)
