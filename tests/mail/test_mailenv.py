"""End-to-end checks of the mailenv fixture against the real Postfix and Dovecot."""

from __future__ import annotations

import email.policy
import imaplib
import poplib
import smtplib
import ssl
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import TypeVar

import pytest

from tests.fixtures.mailenv import MailEnv

ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@example.test"
FOREIGN = "someone@elsewhere.example"
T = TypeVar("T")


@pytest.fixture
def tls(mailenv: MailEnv) -> ssl.SSLContext:
    """Client context that only trusts the mailenv CA (hostname checked too)."""
    return ssl.create_default_context(cafile=mailenv.ca_file)


def make_message(sender: str, rcpt: str) -> tuple[EmailMessage, str]:
    tag = uuid.uuid4().hex
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = rcpt
    msg["Subject"] = f"Zażółć gęślą jaźń {tag}"
    msg["Message-ID"] = f"<{tag}@example.test>"
    msg.set_content(f"Cześć,\nto jest test {tag}.\n")
    return msg, tag


def parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=email.policy.default).parsebytes(raw)


def poll(probe: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)
    return found


def in_maildir(mailenv: MailEnv, user: str, tag: str) -> Path | None:
    root = mailenv.maildir(user)
    for path in [*root.glob("new/*"), *root.glob("cur/*")]:
        if tag.encode() in path.read_bytes():
            return path
    return None


def imaps_fetch(mailenv: MailEnv, tls: ssl.SSLContext, user: str, tag: str) -> EmailMessage:
    """Log in over IMAPS and return the INBOX message whose Message-ID contains ``tag``."""
    with imaplib.IMAP4_SSL(mailenv.host, mailenv.imaps_port, ssl_context=tls, timeout=20) as imap:
        imap.login(user, mailenv.users[user])

        def search() -> bytes | None:
            assert imap.select("INBOX")[0] == "OK"
            typ, data = imap.uid("SEARCH", "HEADER", "Message-ID", tag)
            assert typ == "OK"
            uids: list[bytes] = data[0].split()
            return uids[-1] if uids else None

        uid = poll(search, f"{tag} in {user}'s INBOX")
        typ, data = imap.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
        assert typ == "OK"
        return parse(data[0][1])


def test_submission_starttls_auth_plain_then_imaps(mailenv: MailEnv, tls: ssl.SSLContext) -> None:
    msg, tag = make_message(ALICE, BOB)
    with smtplib.SMTP(mailenv.host, mailenv.submission_port, timeout=20) as smtp:
        smtp.ehlo("client.example.test")
        assert not smtp.has_extn("auth"), "AUTH must not be offered before STARTTLS"
        smtp.starttls(context=tls)
        assert isinstance(smtp.sock, ssl.SSLSocket)
        assert smtp.sock.getpeercert(), "server certificate was not verified"
        smtp.ehlo("client.example.test")
        assert "PLAIN" in smtp.esmtp_features["auth"].split()
        smtp.user, smtp.password = ALICE, mailenv.users[ALICE]
        assert smtp.auth("PLAIN", smtp.auth_plain)[0] == 235
        assert smtp.send_message(msg) == {}

    received = imaps_fetch(mailenv, tls, BOB, tag)
    assert received["Subject"] == msg["Subject"]
    assert received["From"] == ALICE
    body = received.get_body(("plain",))
    assert body is not None
    assert f"to jest test {tag}" in body.get_content()


def test_smtps_implicit_tls_auth_login(mailenv: MailEnv, tls: ssl.SSLContext) -> None:
    msg, tag = make_message(ALICE, CAROL)
    with smtplib.SMTP_SSL(mailenv.host, mailenv.smtps_port, context=tls, timeout=20) as smtp:
        smtp.ehlo("client.example.test")
        assert "LOGIN" in smtp.esmtp_features["auth"].split()
        smtp.user, smtp.password = ALICE, mailenv.users[ALICE]
        assert smtp.auth("LOGIN", smtp.auth_login)[0] == 235
        assert smtp.send_message(msg) == {}

    path = poll(lambda: in_maildir(mailenv, CAROL, tag), f"{tag} in {CAROL}'s Maildir")
    assert parse(path.read_bytes())["Subject"] == msg["Subject"]


def test_wrong_password_is_refused(mailenv: MailEnv, tls: ssl.SSLContext) -> None:
    with smtplib.SMTP(mailenv.host, mailenv.submission_port, timeout=20) as smtp:
        smtp.starttls(context=tls)
        smtp.ehlo("client.example.test")
        smtp.user, smtp.password = ALICE, "not-" + mailenv.users[ALICE]
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.auth("PLAIN", smtp.auth_plain)
    assert refused.value.smtp_code == 535


@pytest.mark.parametrize("port_name", ["submission", "mx"])
def test_relay_to_foreign_domain_is_refused(
    mailenv: MailEnv, tls: ssl.SSLContext, port_name: str
) -> None:
    with smtplib.SMTP(mailenv.host, mailenv.ports()[port_name], timeout=20) as smtp:
        smtp.ehlo("client.example.test")
        if port_name == "submission":
            smtp.starttls(context=tls)
            smtp.ehlo("client.example.test")
            smtp.login(ALICE, mailenv.users[ALICE])
        assert smtp.mail(ALICE)[0] == 250
        code, reply = smtp.rcpt(FOREIGN)
        assert (code, b"Relay access denied" in reply) == (554, True), reply
        assert smtp.rcpt(BOB)[0] == 250, "a local recipient must still be accepted"
        smtp.rset()


def test_added_user_gets_mail_through_mx(mailenv: MailEnv) -> None:
    user = f"mx-{uuid.uuid4().hex[:8]}@example.test"
    mailenv.add_user(user, "mx-secret")
    assert mailenv.users[user] == "mx-secret"
    msg, tag = make_message(FOREIGN, user)
    with smtplib.SMTP(mailenv.host, mailenv.mx_port, timeout=20) as smtp:
        assert smtp.send_message(msg) == {}
    poll(lambda: in_maildir(mailenv, user, tag), f"{tag} in {user}'s Maildir")


def test_lmtp_delivery_then_pop3s_retr(mailenv: MailEnv, tls: ssl.SSLContext) -> None:
    user = f"pop-{uuid.uuid4().hex[:8]}@example.test"
    mailenv.add_user(user, "pop-secret")
    msg, tag = make_message(ALICE, user)
    mailenv.deliver(msg.as_bytes(policy=email.policy.SMTP), user)

    pop = poplib.POP3_SSL(mailenv.host, mailenv.pop3s_port, context=tls, timeout=20)
    try:
        pop.user(user)
        pop.pass_("pop-secret")
        assert pop.stat()[0] == 1
        resp, lines, _ = pop.retr(1)
        assert resp.startswith(b"+OK")
        received = parse(b"\r\n".join(lines))
    finally:
        pop.quit()
    assert received["Message-ID"] == f"<{tag}@example.test>"
    assert received["Subject"] == msg["Subject"]
