"""One named test per way a connection fails: the failing step, the server's words, the advice."""

from __future__ import annotations

import asyncio

from postroom.enums import AuthMethod, Security
from postroom.mail.imap_probe import probe_imap
from postroom.mail.pop3_probe import probe_pop3
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.report import Advice, StepName, StepStatus
from postroom.mail.smtp_probe import probe_smtp
from tests.fixtures.mailenv import MailEnv
from tests.mail.support import (
    TestCertificates,
    failed,
    login,
    mailbox_target,
    names,
    options,
    scripted_server,
    server_context,
    silent_listener,
    smtp_target,
)

SHORT = 2.0  # seconds: the time limit of the tests that wait for a silent server
# Fails a test whose probe ignored its bound (a silent server would hold it forever); far
# above SHORT so that a slow machine never trips it: a guard against hanging, not a timing.
HANG_GUARD = SHORT + 30


async def test_closed_port(mailenv: MailEnv, local: ProbeOptions) -> None:
    with silent_listener() as port:
        pass  # closed again: nothing listens there now
    report = await probe_smtp(smtp_target(mailenv.host, port, Security.STARTTLS), local)
    step = failed(report)
    assert step.name is StepName.CONNECT
    assert step.advice is Advice.PORT_CLOSED
    assert step.advice_text is not None and f"port {port}" in step.advice_text
    assert "587 with STARTTLS" in step.advice_text


async def test_implicit_tls_to_the_starttls_port(mailenv: MailEnv, local: ProbeOptions) -> None:
    report = await probe_smtp(
        smtp_target(mailenv.host, mailenv.submission_port, Security.TLS), local
    )
    step = failed(report)
    assert step.name is StepName.TLS
    assert "WRONG_VERSION_NUMBER" in step.detail  # Postfix's "220 …" read as a TLS record
    assert step.advice is Advice.USE_STARTTLS
    imap = await probe_imap(mailbox_target(mailenv, mailenv.imap_port, Security.TLS), local)
    assert (failed(imap).name, failed(imap).advice) == (StepName.TLS, Advice.USE_STARTTLS)


async def test_starttls_to_the_implicit_tls_port(mailenv: MailEnv) -> None:
    # Both sides wait (we for a greeting, it for TLS): without the bound this would never end.
    report = await asyncio.wait_for(
        probe_smtp(
            smtp_target(mailenv.host, mailenv.smtps_port, Security.STARTTLS),
            options(mailenv.ca_file, timeout=SHORT),
        ),
        HANG_GUARD,
    )
    step = failed(report)
    assert step.name is StepName.GREETING  # both sides wait: we for a greeting, it for TLS
    assert step.advice is Advice.USE_IMPLICIT_TLS
    assert step.advice_text is not None and "SSL/TLS" in step.advice_text
    pop3 = await probe_pop3(
        mailbox_target(mailenv, mailenv.pop3s_port, Security.STARTTLS),
        options(mailenv.ca_file, timeout=SHORT),
    )
    assert (failed(pop3).name, failed(pop3).advice) == (StepName.GREETING, Advice.USE_IMPLICIT_TLS)


async def test_server_that_accepts_and_never_answers() -> None:
    with silent_listener() as port:
        report = await asyncio.wait_for(
            probe_smtp(smtp_target("127.0.0.1", port, Security.TLS), options(None, timeout=SHORT)),
            HANG_GUARD,  # the whole probe, closing included, ends by its own bound
        )
    step = failed(report)
    assert step.name is StepName.TLS  # the handshake waits for a ServerHello that never comes
    assert step.advice is Advice.NO_ANSWER


async def test_untrusted_certificate_names_it(mailenv: MailEnv) -> None:
    untrusted = options(None)  # the system's CAs only: the mailenv CA is not among them
    report = await probe_smtp(
        smtp_target(mailenv.host, mailenv.smtps_port, Security.TLS), untrusted
    )
    step = failed(report)
    assert step.name is StepName.TLS
    assert "unable to get local issuer certificate" in step.detail
    assert step.advice is Advice.CERTIFICATE_UNTRUSTED
    text = step.advice_text or ""
    assert "localhost, mail.example.test, 127.0.0.1" in text and "CN=mailenv test CA" in text
    assert "POSTROOM_EXTRA_CA_FILE" in text
    assert report.step(StepName.AUTH).status is StepStatus.SKIPPED  # no password was sent


async def test_untrusted_certificate_after_starttls(mailenv: MailEnv) -> None:
    report = await probe_imap(
        mailbox_target(mailenv, mailenv.imap_port, Security.STARTTLS), options(None)
    )
    step = failed(report)
    assert (step.name, step.advice) == (StepName.TLS, Advice.CERTIFICATE_UNTRUSTED)
    assert "CN=mailenv test CA" in (step.advice_text or "")  # read over a second STARTTLS


async def test_certificate_for_another_name(certificates: TestCertificates) -> None:
    tls = server_context(certificates.other_name_cert_file, certificates.key_file)
    async with scripted_server(b"220 other ESMTP\r\n", [], tls) as server:
        report = await probe_smtp(
            smtp_target("127.0.0.1", server.port, Security.TLS), options(certificates.ca_file)
        )
    step = failed(report)
    assert (step.name, step.advice) == (StepName.TLS, Advice.CERTIFICATE_NAME_MISMATCH)
    assert "for mail.other.test" in (step.advice_text or "")


async def test_expired_certificate(certificates: TestCertificates) -> None:
    tls = server_context(certificates.expired_cert_file, certificates.key_file)
    async with scripted_server(b"220 old ESMTP\r\n", [], tls) as server:
        report = await probe_smtp(
            smtp_target("127.0.0.1", server.port, Security.TLS), options(certificates.ca_file)
        )
    step = failed(report)
    assert (step.name, step.advice) == (StepName.TLS, Advice.CERTIFICATE_EXPIRED)
    assert "expired on" in (step.advice_text or "")


async def test_internal_address_refused_when_not_allowed(mailenv: MailEnv) -> None:
    report = await probe_smtp(
        smtp_target(mailenv.host, mailenv.submission_port, Security.STARTTLS),
        options(mailenv.ca_file, allowed=""),
    )
    step = failed(report)
    assert (step.name, step.advice) == (StepName.DNS, Advice.INTERNAL_ADDRESS)
    assert "POSTROOM_ALLOWED_NETWORKS" in step.detail
    assert report.step(StepName.CONNECT).detail == "not reached"


async def test_host_not_found(local: ProbeOptions) -> None:
    report = await probe_smtp(smtp_target("no-such-host.invalid", 587, Security.STARTTLS), local)
    step = failed(report)
    assert (step.name, step.advice) == (StepName.DNS, Advice.HOST_NOT_FOUND)
    assert "no-such-host.invalid" in step.detail


async def test_another_protocol_on_the_port(mailenv: MailEnv, local: ProbeOptions) -> None:
    report = await probe_smtp(smtp_target(mailenv.host, mailenv.imap_port, Security.NONE), local)
    step = failed(report)
    assert (step.name, step.advice) == (StepName.GREETING, Advice.WRONG_PROTOCOL)
    assert step.detail.startswith("This port speaks IMAP, not SMTP")


async def test_password_missing(mailenv: MailEnv, local: ProbeOptions) -> None:
    target = smtp_target(mailenv.host, mailenv.smtps_port, Security.TLS, login(None))
    step = failed(await probe_smtp(target, local))
    assert (step.name, step.advice) == (StepName.AUTH, Advice.PASSWORD_MISSING)


async def test_oauth2_before_sign_in_stops_without_failing(
    mailenv: MailEnv, local: ProbeOptions
) -> None:
    target = smtp_target(
        mailenv.host, mailenv.smtps_port, Security.TLS, login(None, AuthMethod.OAUTH2)
    )
    report = await probe_smtp(target, local)
    assert report.ok
    auth = report.step(StepName.AUTH)
    assert (auth.status, auth.advice) == (StepStatus.SKIPPED, Advice.OAUTH_NOT_CONNECTED)
    assert names(report)[-2:] == [("rcpt_to", "skipped"), ("data", "skipped")]
