"""Answers only big providers give (Gmail, Microsoft 365), and XOAUTH2, from scripted servers."""

from __future__ import annotations

import base64

import pytest

from postroom.enums import AuthMethod, CipherLevel, Security
from postroom.mail.connect import Endpoint
from postroom.mail.diagnose import DiagnosisContext, diagnose
from postroom.mail.errors import ServerRefusedError
from postroom.mail.report import Advice, ProbeKind, StepName
from postroom.mail.smtp_probe import probe_smtp
from tests.mail.support import ALICE, failed, login, names, options, scripted_server, smtp_target

GREETING = b"220 smtp.provider.test ESMTP ready\r\n"
EHLO = b"250-smtp.provider.test\r\n250-AUTH LOGIN PLAIN XOAUTH2\r\n250 8BITMIME\r\n"
GMAIL_534 = (
    b"534-5.7.9 Application-specific password required. For more information, go to\r\n"
    b"534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor x1-20020a\r\n"
)
MICROSOFT_535 = (
    b"535 5.7.139 Authentication unsuccessful, basic authentication is disabled. "
    b"[AM0PR10CA0001.EURPRD10.PROD.OUTLOOK.COM]\r\n"
)
MICROSOFT_550 = b"550 5.7.30 Basic authentication is not supported for Client Submission.\r\n"


@pytest.mark.parametrize(
    ("refusal", "advice", "words"),
    [
        (GMAIL_534, Advice.APP_PASSWORD, "534 5.7.9 Application-specific password required."),
        (MICROSOFT_535, Advice.USE_OAUTH2, "535 5.7.139 Authentication unsuccessful"),
        (MICROSOFT_550, Advice.USE_OAUTH2, "550 5.7.30 Basic authentication is not supported"),
    ],
    ids=["gmail-534-5.7.9", "microsoft-535-5.7.139", "microsoft-550-5.7.30"],
)
async def test_provider_refusals_of_a_password(refusal: bytes, advice: Advice, words: str) -> None:
    async with scripted_server(GREETING, [EHLO, refusal]) as server:
        report = await probe_smtp(
            smtp_target("127.0.0.1", server.port, Security.NONE), options(None)
        )
    step = failed(report)
    assert step.name is StepName.AUTH
    assert step.server_reply is not None and step.server_reply.startswith(words)
    assert step.advice is advice


async def test_xoauth2_sends_the_bearer_token() -> None:
    replies = [EHLO, b"235 2.7.0 Accepted\r\n", b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n"]
    async with scripted_server(GREETING, replies) as server:
        token = login("ya29.token-value", AuthMethod.OAUTH2)
        report = await probe_smtp(
            smtp_target("127.0.0.1", server.port, Security.NONE, token), options(None)
        )
    assert report.ok, names(report)
    command, mechanism, initial = server.received[1].split()
    assert (command, mechanism) == (b"AUTH", b"XOAUTH2")
    expected = f"user={ALICE}\x01auth=Bearer ya29.token-value\x01\x01".encode()
    assert base64.b64decode(initial) == expected


async def test_xoauth2_refused_token_asks_to_reconnect() -> None:
    # RFC-less but documented by Google: a JSON error as a 334 challenge, an empty answer, 535.
    challenge = base64.b64encode(b'{"status":"401","schemes":"bearer"}')
    replies = [
        EHLO,
        b"334 " + challenge + b"\r\n",
        b"535 5.7.8 Username and Password not accepted\r\n",
    ]
    async with scripted_server(GREETING, replies) as server:
        token = login("expired-token", AuthMethod.OAUTH2)
        report = await probe_smtp(
            smtp_target("127.0.0.1", server.port, Security.NONE, token), options(None)
        )
    assert server.received[2] == b"\r\n"  # the empty response that ends the exchange
    step = failed(report)
    assert (step.name, step.advice) == (StepName.AUTH, Advice.OAUTH_TOKEN_REJECTED)
    assert step.server_reply == "535 5.7.8 Username and Password not accepted"


def _context(host: str, port: int, step_auth: AuthMethod = AuthMethod.PASSWORD) -> DiagnosisContext:
    endpoint = Endpoint(host, port, Security.STARTTLS, CipherLevel.DEFAULT)
    return DiagnosisContext(ProbeKind.SMTP, endpoint, step_auth, ALICE, ALICE)


def test_timeout_on_port_25_suggests_587() -> None:
    found = diagnose(_context("smtp.example.test", 25), StepName.CONNECT, TimeoutError())
    assert found.advice is Advice.USE_PORT_587
    assert found.advice_text is not None and "587" in found.advice_text


def test_timeout_on_another_port_is_just_no_answer() -> None:
    found = diagnose(_context("smtp.example.test", 2525), StepName.CONNECT, TimeoutError())
    assert found.advice is Advice.NO_ANSWER


def test_password_refused_by_a_microsoft_host_means_oauth2() -> None:
    refused = ServerRefusedError("NO AUTHENTICATE failed.", command="login")
    found = diagnose(_context("outlook.office365.com", 993), StepName.AUTH, refused)
    assert found.advice is Advice.USE_OAUTH2


def test_password_refused_by_gmail_means_app_password() -> None:
    refused = ServerRefusedError("535-5.7.8 Username and Password not accepted.", command="AUTH")
    found = diagnose(_context("smtp.gmail.com", 587), StepName.AUTH, refused)
    assert found.advice is Advice.APP_PASSWORD
    assert found.server_reply == "535-5.7.8 Username and Password not accepted."


def test_an_unknown_error_is_reported_not_hidden() -> None:
    found = diagnose(_context("smtp.example.test", 587), StepName.DATA, KeyError("bug"))
    assert found.advice is None and found.detail == "Unexpected error: KeyError: 'bug'"
