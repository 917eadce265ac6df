"""The whole account test: both servers at once within one time limit, and the round trip."""

from __future__ import annotations

from postroom.enums import IncomingProtocol, Security
from postroom.mail.account_probe import AccountTarget, probe_account
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.report import Advice, StepName, StepStatus
from postroom.mail.smtp_probe import SmtpTarget
from tests.fixtures.mailenv import MailEnv
from tests.mail.support import (
    failed,
    login,
    mailbox_target,
    names,
    options,
    silent_listener,
    silent_servers,
    smtp_target,
)


def _smtp(mailenv: MailEnv) -> SmtpTarget:
    return smtp_target(mailenv.host, mailenv.submission_port, Security.STARTTLS)


async def test_both_servers_are_tested_at_once(mailenv: MailEnv) -> None:
    """Both sides wait for a server that never answers; tested one after the other, no two
    connections would ever be open together."""
    async with silent_servers(2) as silent:
        target = AccountTarget(
            outgoing=smtp_target(mailenv.host, silent.ports[0], Security.STARTTLS),
            incoming=mailbox_target(mailenv, silent.ports[1], Security.STARTTLS),
            incoming_protocol=IncomingProtocol.IMAP,
        )
        report = await probe_account(target, options(mailenv.ca_file, timeout=2.0))
    assert silent.most_open == 2
    assert report.incoming is not None and failed(report.incoming).name is StepName.GREETING
    assert report.outgoing is not None and failed(report.outgoing).name is StepName.GREETING


async def test_one_side_failing_does_not_fail_the_other(mailenv: MailEnv) -> None:
    with silent_listener() as silent:
        target = AccountTarget(
            outgoing=smtp_target(mailenv.host, silent, Security.STARTTLS),
            incoming=mailbox_target(mailenv, mailenv.imaps_port, Security.TLS),
            incoming_protocol=IncomingProtocol.IMAP,
        )
        report = await probe_account(target, options(mailenv.ca_file, timeout=2.0))
    assert report.incoming is not None and report.incoming.ok  # not failed by the other side
    assert report.outgoing is not None and failed(report.outgoing).name is StepName.GREETING
    assert not report.ok
    assert report.summary().startswith("The SMTP test (127.0.0.1:")


async def test_send_to_myself_over_imap(mailenv: MailEnv, local: ProbeOptions) -> None:
    target = AccountTarget(
        outgoing=_smtp(mailenv),
        incoming=mailbox_target(mailenv, mailenv.imaps_port, Security.TLS),
        incoming_protocol=IncomingProtocol.IMAP,
        send_test_message=True,
    )
    report = await probe_account(target, local)
    assert report.ok, report.summary()
    assert report.round_trip is not None
    assert names(report.round_trip) == [("send", "ok"), ("delivery", "ok")]
    message_id = report.round_trip.step(StepName.SEND).detail.split()[0]
    delivered = [
        p for p in mailenv.maildir("alice@example.test").glob("*/*") if message_id in p.read_text()
    ]
    assert len(delivered) == 1


async def test_send_to_myself_over_pop3(mailenv: MailEnv, local: ProbeOptions) -> None:
    target = AccountTarget(
        outgoing=_smtp(mailenv),
        incoming=mailbox_target(mailenv, mailenv.pop3_port, Security.STARTTLS),
        incoming_protocol=IncomingProtocol.POP3,
        send_test_message=True,
    )
    report = await probe_account(target, local)
    assert report.ok, report.summary()
    assert report.round_trip is not None and report.round_trip.ok


async def test_no_message_is_sent_when_a_side_fails(mailenv: MailEnv, local: ProbeOptions) -> None:
    target = AccountTarget(
        outgoing=_smtp(mailenv),
        incoming=mailbox_target(mailenv, mailenv.imaps_port, Security.TLS, login("wrong")),
        incoming_protocol=IncomingProtocol.IMAP,
        send_test_message=True,
    )
    report = await probe_account(target, local)
    assert report.round_trip is not None
    assert [s.status for s in report.round_trip.steps] == [StepStatus.SKIPPED]
    failure = report.failure
    assert failure is not None and failure[1].advice is Advice.WRONG_PASSWORD


async def test_message_that_never_arrives(mailenv: MailEnv) -> None:
    # Sent as alice to alice, but looked for in bob's mailbox: it cannot turn up there.
    target = AccountTarget(
        outgoing=_smtp(mailenv),
        incoming=mailbox_target(
            mailenv, mailenv.imaps_port, Security.TLS, login(user="bob@example.test")
        ),
        incoming_protocol=IncomingProtocol.IMAP,
        send_test_message=True,
    )
    report = await probe_account(target, options(mailenv.ca_file, timeout=3.0))
    assert report.round_trip is not None
    step = failed(report.round_trip)
    assert (step.name, step.advice) == (StepName.DELIVERY, Advice.MESSAGE_NOT_ARRIVED)


async def test_only_the_outgoing_side(mailenv: MailEnv, local: ProbeOptions) -> None:
    target = AccountTarget(
        outgoing=_smtp(mailenv), incoming=None, incoming_protocol=IncomingProtocol.NONE
    )
    report = await probe_account(target, local)
    assert report.ok and report.incoming is None and report.round_trip is None
    assert report.as_dict()["incoming"] is None
