"""The SMTP probe against the real Postfix: each way of logging in, and each way of failing."""

from __future__ import annotations

import time

from postroom.enums import AuthMethod, Security
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.report import Advice, StepName, StepStatus
from postroom.mail.sasl import Mechanism
from postroom.mail.smtp_probe import dot_stuff, probe_smtp
from tests.fixtures.mailenv import MailEnv
from tests.mail.support import ALICE, failed, login, names, options, smtp_target

STARTTLS_STEPS = [
    ("dns", "ok"),
    ("connect", "ok"),
    ("greeting", "ok"),
    ("capabilities", "ok"),
    ("starttls", "ok"),
    ("tls", "ok"),
    ("capabilities", "ok"),
    ("auth", "ok"),
    ("mail_from", "ok"),
    ("rcpt_to", "ok"),
    ("data", "ok"),
]


def _inbox_size(mailenv: MailEnv, user: str) -> int:
    root = mailenv.maildir(user)
    return len([*root.glob("new/*"), *root.glob("cur/*")])


async def test_starttls_with_plain_goes_up_to_data_and_sends_nothing(
    mailenv: MailEnv, local: ProbeOptions
) -> None:
    before = _inbox_size(mailenv, ALICE)
    report = await probe_smtp(
        smtp_target(mailenv.host, mailenv.submission_port, Security.STARTTLS), local
    )
    assert names(report) == STARTTLS_STEPS
    assert report.ok
    capabilities = [s for s in report.steps if s.name is StepName.CAPABILITIES]
    assert "STARTTLS" in capabilities[0].detail and "AUTH" not in capabilities[0].detail
    assert "AUTH" in capabilities[1].detail  # Postfix offers AUTH only after STARTTLS
    assert report.step(StepName.AUTH).detail.startswith("PLAIN as alice@example.test: 235")
    assert report.step(StepName.RCPT_TO).detail.startswith("250")
    assert report.step(StepName.DATA).detail.startswith("354")
    assert report.tls_version in ("TLSv1.2", "TLSv1.3") and report.tls_cipher
    assert f"{report.tls_version}, {report.tls_cipher}" in report.step(StepName.TLS).detail
    time.sleep(0.5)  # a delivery would take a few milliseconds over LMTP
    assert _inbox_size(mailenv, ALICE) == before, "the probe must never deliver a message"


async def test_implicit_tls_with_login(mailenv: MailEnv) -> None:
    only_login = options(mailenv.ca_file, mechanisms=(Mechanism.LOGIN,))
    report = await probe_smtp(
        smtp_target(mailenv.host, mailenv.smtps_port, Security.TLS), only_login
    )
    assert report.ok, names(report)
    assert [n for n, _ in names(report)][:4] == ["dns", "connect", "tls", "greeting"]
    assert report.step(StepName.AUTH).detail.startswith("LOGIN as alice@example.test: 235")


async def test_cram_md5(mailenv: MailEnv, local: ProbeOptions) -> None:
    credentials = login(method=AuthMethod.CRAM_MD5)
    report = await probe_smtp(
        smtp_target(mailenv.host, mailenv.smtps_port, Security.TLS, credentials), local
    )
    assert report.ok, names(report)
    assert report.step(StepName.AUTH).detail.startswith("CRAM-MD5 as alice@example.test: 235")


async def test_wrong_password(mailenv: MailEnv, local: ProbeOptions) -> None:
    target = smtp_target(
        mailenv.host, mailenv.submission_port, Security.STARTTLS, login("not-the-password")
    )
    report = await probe_smtp(target, local)
    step = failed(report)
    assert step.name is StepName.AUTH
    assert step.server_reply is not None and step.server_reply.startswith("535 5.7.8")
    assert step.advice is Advice.WRONG_PASSWORD
    assert step.advice_text is not None and "not your Postroom password" in step.advice_text
    assert report.step(StepName.MAIL_FROM).detail == "not reached"


async def test_auth_refused_before_starttls(mailenv: MailEnv, local: ProbeOptions) -> None:
    report = await probe_smtp(
        smtp_target(mailenv.host, mailenv.submission_port, Security.NONE), local
    )
    assert report.step(StepName.TLS).status is StepStatus.SKIPPED
    step = failed(report)
    assert step.name is StepName.AUTH
    assert step.server_reply == "530 5.7.0 Must issue a STARTTLS command first"
    assert step.advice is Advice.USE_STARTTLS
    assert step.advice_text is not None and "STARTTLS on port 587" in step.advice_text


async def test_no_login_on_the_mx_port_reaches_data(mailenv: MailEnv, local: ProbeOptions) -> None:
    # Postfix's port 25 service accepts mail for its own domains without a login.
    target = smtp_target(
        mailenv.host, mailenv.mx_port, Security.STARTTLS, login(None, AuthMethod.NONE)
    )
    report = await probe_smtp(target, local)
    assert report.ok, names(report)
    assert report.step(StepName.AUTH).status is StepStatus.SKIPPED


async def test_recipient_refused_without_login(mailenv: MailEnv, local: ProbeOptions) -> None:
    target = smtp_target(
        mailenv.host, mailenv.submission_port, Security.STARTTLS, login(None, AuthMethod.NONE)
    )
    report = await probe_smtp(target, local)
    step = failed(report)
    assert step.name is StepName.RCPT_TO  # submission: permit_sasl_authenticated, reject
    assert step.server_reply is not None and step.server_reply.startswith("554 5.7.1")
    assert step.advice is Advice.AUTH_REQUIRED


def test_dot_stuffing_and_line_ends() -> None:
    assert dot_stuff(b"a\n.b\r\n..c\nd") == b"a\r\n..b\r\n...c\r\nd\r\n"
