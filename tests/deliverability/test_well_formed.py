"""What arrives at Dovecot is well formed: read back over IMAP as a recipient's client reads it."""

from __future__ import annotations

import email
import re
from email import policy
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient

from postroom.errors import ValidationError
from postroom.mail import dkim_keys
from postroom.mail.mime import Mailbox, build_message
from postroom.mail.mime_checks import MimeLimits
from postroom.services.deliverability_dns import resolver_for
from postroom.services.deliverability_headers import set_field
from postroom.services.list_unsubscribe import ONE_CLICK, add_list_unsubscribe
from postroom.services.runtime import Runtime
from tests.api.helpers import create_account
from tests.api.sending_helpers import submit, turn_email_on, upload
from tests.deliverability.imap_read import fetch_arrived
from tests.fixtures.dns_server import Zone
from tests.fixtures.mailenv import MailEnv
from tests.mail.mime_support import display_name, draft, fake_pdf, raw_headers, text_of
from tests.support import Tenant
from tests.worker.outbox_support import load, run_engine

BOB = "bob@example.test"
SHORT_NAME = "Faktura_1_2026_Łódź.pdf"
LONG_NAME = (
    "Potwierdzenie salda — Przedsiębiorstwo Handlowo-Usługowe „Żuraw” sp. z o.o., "
    "Gdańsk, ul. Świętojańska 12 (2026).pdf"
)
SUBJECT = (
    "Faktura nr 1/2026 i potwierdzenie salda — prosimy o zapłatę w ciągu 14 dni "
    "(Zażółć gęślą jaźń, Łódź)"
)
TRACE = {"return-path", "delivered-to", "received", "x-original-to"}  # the servers' own


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _header_lines(raw: bytes) -> list[bytes]:
    """Every line of the top-level header section that Postroom wrote (not trace fields)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    fields = re.split(rb"\r\n(?![ \t])", head)
    ours = [f for f in fields if f.split(b":", 1)[0].decode().lower() not in TRACE]
    return [line for field in ours for line in field.split(b"\r\n")]


def test_an_account_message_arrives_well_formed(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    admin = tenant.admin
    turn_email_on(client, admin)
    account = create_account(
        client, admin, mailenv, signature_html="<p>Pozdrawiam<br>Łucja Żółtowska-Gęślańska</p>"
    )
    pdf = fake_pdf(300 * 1024)
    files = [upload(client, admin, name, pdf) for name in (SHORT_NAME, LONG_NAME)]
    answer = submit(
        client,
        admin,
        account_id=account["id"],
        to=[{"address": BOB, "name": "Bożena Źdźbło-Wąsowicz"}],
        subject=SUBJECT,
        html="<p>Dzień dobry,</p><p>w załączniku <b>faktura</b> i potwierdzenie salda.</p>",
        attachments=[{"file_id": f["id"]} for f in files],
    )
    run_engine(runtime)
    row = load(runtime, tenant.company_id, answer["id"])
    raw = fetch_arrived(mailenv, BOB, f"<{row.message_id}>")
    message = _parse(raw)

    assert message["Date"] is not None and message["Date"].datetime.tzinfo is not None
    assert message["Message-ID"] == f"<{row.message_id}>"
    assert message["MIME-Version"] == "1.0"
    assert message["Subject"] == SUBJECT
    assert display_name(raw_headers(raw)["to"]) == "Bożena Źdźbło-Wąsowicz"
    assert message.get_content_type() == "multipart/mixed"

    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None  # a text alternative for the HTML
    for part in (plain, html):
        assert part.get_content_charset() == "utf-8"
    body = text_of(plain)
    assert "w załączniku faktura i potwierdzenie salda." in body
    assert body.endswith("-- \nPozdrawiam\nŁucja Żółtowska-Gęślańska\n")  # the signature
    assert "Łucja Żółtowska-Gęślańska" in text_of(html)

    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == [SHORT_NAME, LONG_NAME]
    assert all(a.get_content() == pdf for a in attachments)
    assert b"filename*=utf-8''Faktura_1_2026_%C5%81%C3%B3d%C5%BA.pdf" in raw  # RFC 2231
    assert b"filename*0*=utf-8''" in raw  # the long name continued over lines (§3)

    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))  # RFC 5322 §2.1.1 MUST
    assert max(len(line) for line in _header_lines(raw)) <= 78  # … and SHOULD
    assert raw.isascii()  # 7-bit throughout: no server needs 8BITMIME or SMTPUTF8


def test_list_unsubscribe_headers_are_signed_and_survive(
    dns_settings: object, dns_zone: Zone
) -> None:
    built = build_message(
        draft(
            sender=Mailbox("newsletter@firma.test", "Biuro Rachunkowe „Alfa”"), subject="Nowości"
        ),
        limits=MimeLimits(),
    )
    url = "https://postroom.firma.test/u/" + "a1b2c3" * 20
    raw = add_list_unsubscribe(built.raw, url=url, mailto="wypisz@firma.test")
    headers = raw_headers(raw)
    assert headers["list-unsubscribe"] == f"<{url}>, <mailto:wypisz@firma.test>"
    assert headers["list-unsubscribe-post"] == ONE_CLICK
    # Folded between the URIs; a URI itself is never broken, so only its line may pass 78.
    long_lines = [line for line in _header_lines(raw) if len(line) > 78]
    assert long_lines == [f"List-Unsubscribe: <{url}>,".encode()]

    pair = dkim_keys.generate_key_pair()
    dns_zone.txt("news._domainkey.firma.test", dkim_keys.record_value(pair.public_key))
    signed = dkim_keys.sign(raw, selector="news", domain="firma.test", private_pem=pair.private_pem)
    resolver = resolver_for(dns_settings, cached=False)  # type: ignore[arg-type]
    assert resolver is not None and dkim_keys.verify(signed, resolver)
    # RFC 8058 §4: the signature covers both, so neither can be swapped on the way.
    swapped = set_field(signed, "List-Unsubscribe", "<https://evil.example.test/x>")
    assert not dkim_keys.verify(swapped, resolver)


@pytest.mark.parametrize(
    "url", ["http://firma.test/u", "https://firma.test/u v", "https://x/<script>", "mailto:x@y"]
)
def test_one_click_unsubscription_needs_a_plain_https_uri(url: str) -> None:
    built = build_message(draft(), limits=MimeLimits())
    with pytest.raises(ValidationError) as refused:
        add_list_unsubscribe(built.raw, url=url)
    assert refused.value.problems[0].field == "unsubscribe_url"


@pytest.mark.parametrize(
    "subject",
    [
        "Faktura nr 1/2026 — prosimy o zapłatę w ciągu 14 dni (Zażółć gęślą jaźń, Łódź)",
        "Łódź  Łódź",  # two spaces between encoded words
        "Wezwanie   do zapłaty: Żółw",
        "Zażółć" * 20,
        "=?utf-8?q?nie_słowo?= zakodowane",
    ],
)
def test_subject_words_keep_their_spaces(subject: str) -> None:
    """RFC 2047 §6.2: readers drop white space between two encoded words, so the spaces of
    a Polish subject must be inside them, not between (Python's own folding put them out)."""
    built = build_message(draft(subject=subject), limits=MimeLimits())
    assert _parse(built.raw)["Subject"] == subject
    assert max(len(line) for line in _header_lines(built.raw)) <= 78
