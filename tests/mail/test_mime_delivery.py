"""A built message goes through the real Postfix and arrives in Dovecot byte for byte."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import time
from pathlib import Path

import pytest

from postroom.mail.mime import Attachment, BuiltMessage, Mailbox, MimeLimits, build_message
from tests.fixtures.mailenv import MailEnv
from tests.mail.mime_support import display_name, draft, fake_pdf, parse, raw_headers, text_of

ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@example.test"
PDF_NAME = "Faktura_1_2026_Łódź.pdf"


def _submit(mailenv: MailEnv, built: BuiltMessage) -> dict[str, tuple[int, bytes]]:
    context = ssl.create_default_context(cafile=mailenv.ca_file)
    with smtplib.SMTP(mailenv.host, mailenv.submission_port, timeout=30) as smtp:
        smtp.starttls(context=context)
        smtp.login(ALICE, mailenv.users[ALICE])
        recipients = [r.address for r in built.recipients]
        return smtp.sendmail(built.envelope_from, recipients, built.raw)


def _arrived(mailenv: MailEnv, user: str, message_id: str, timeout: float = 30.0) -> Path:
    deadline = time.monotonic() + timeout
    needle = message_id.encode()
    while time.monotonic() < deadline:
        for path in mailenv.maildir(user).glob("*/*"):
            if path.is_file() and needle in path.read_bytes()[:4096]:
                return path
        time.sleep(0.2)
    pytest.fail(f"{message_id} did not reach {user}'s Maildir in {timeout:.0f}s")


def test_message_through_postfix_arrives_intact(mailenv: MailEnv) -> None:
    pdf = fake_pdf(5 * 1024 * 1024)
    parent = "<" + "r" * 100 + "@klient.example.test>"
    built = build_message(
        draft(
            sender=Mailbox(ALICE, "Biuro Rachunkowe „Alfa” — Łucja Żółtowska-Gęślańska, Łódź"),
            to=(Mailbox(BOB, "Bob Żaczek"),),
            bcc=(Mailbox(CAROL),),
            reply_to=Mailbox("ksiegowosc@example.test", "Księgowość"),
            subject="Faktura nr 1/2026 — prosimy o zapłatę do 14 dni („Łódź”)",
            html="<p>Dzień dobry,</p><p>w załączniku faktura <b>1/2026</b>.</p>",
            signature_html="<p>Pozdrawiam<br>Łucja</p>",
            attachments=(Attachment(PDF_NAME, "application/pdf", pdf),),
            in_reply_to=parent,
            references=(parent,),
        ),
        limits=MimeLimits(),
    )
    assert _submit(mailenv, built) == {}  # every recipient accepted

    for user in (BOB, CAROL):
        stored = _arrived(mailenv, user, built.message_id).read_bytes().replace(b"\n", b"\r\n")
        # Byte for byte as sent, after the trace headers the servers put on top (RFC 5321 §4.4).
        assert stored.endswith(built.raw)
        trace = raw_headers(stored[: -len(built.raw)] + b"\r\n")
        assert set(trace) <= {"return-path", "delivered-to", "received", "x-original-to"}
        assert CAROL.encode() not in built.raw  # Bcc: in the envelope only
        received = parse(stored)
        headers = raw_headers(built.raw)
        assert received["Subject"] == "Faktura nr 1/2026 — prosimy o zapłatę do 14 dni („Łódź”)"
        assert display_name(headers["from"]) == (
            "Biuro Rachunkowe „Alfa” — Łucja Żółtowska-Gęślańska, Łódź"
        )
        assert display_name(headers["to"]) == "Bob Żaczek"
        assert received["Reply-To"].addresses[0].addr_spec == "ksiegowosc@example.test"
        assert received["Message-ID"] == f"<{built.message_id}>"
        assert received["In-Reply-To"] == parent and received["References"] == parent
        assert text_of(received.get_body(("plain",))) == (
            "Dzień dobry,\n\nw załączniku faktura 1/2026.\n\n-- \nPozdrawiam\nŁucja\n"
        )
        (attachment,) = received.iter_attachments()
        assert attachment.get_filename() == PDF_NAME
        assert hashlib.sha256(attachment.get_content()).digest() == hashlib.sha256(pdf).digest()
