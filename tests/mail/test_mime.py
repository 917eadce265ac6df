"""Messages built by mail/mime.py, parsed back: headers, structure, bodies, files, refusals."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postroom.enums import RecipientKind
from postroom.errors import ValidationError
from postroom.mail.mime import (
    Attachment,
    EnvelopeRecipient,
    Mailbox,
    MimeLimits,
    build_message,
    thread_references,
)
from tests.mail.mime_support import (
    SENDER,
    display_name,
    draft,
    fake_pdf,
    parse,
    raw_headers,
    text_of,
)

LIMITS = MimeLimits()
POLISH = "Zażółć gęślą jaźń — faktura nr 1/2026 „Łódź”"
PDF_NAME = "Faktura_1_2026_Łódź.pdf"


def _header_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def test_headers_are_ascii_encoded_words_folded_at_78() -> None:
    built = build_message(
        draft(
            sender=Mailbox("biuro@alfa.example.test", "Biuro Rachunkowe „Alfa” Sp. z o.o."),
            to=(Mailbox("jan@example.test", "Jan Żółtowski"),) * 3,
            subject=POLISH * 3,
            text="Dzień dobry",
        ),
        limits=LIMITS,
    )
    assert built.raw.isascii()  # RFC 2047 everywhere, no raw UTF-8 (RFC 6532) needed
    assert max(len(line) for line in _header_lines(built.raw)) <= 78
    assert "=?utf-8?" in raw_headers(built.raw)["subject"]
    parsed = parse(built)
    assert parsed["Subject"] == POLISH * 3
    assert display_name(raw_headers(built.raw)["from"]) == "Biuro Rachunkowe „Alfa” Sp. z o.o."
    assert [a.addr_spec for a in parsed["To"].addresses] == ["jan@example.test"] * 3
    assert parsed["Date"].datetime.tzinfo is not None
    assert parsed["MIME-Version"] == "1.0"


def test_text_only_is_one_quoted_printable_part() -> None:
    built = build_message(draft(text="Dzień dobry,\nfaktura w załączniku."), limits=LIMITS)
    parsed = parse(built)
    assert parsed.get_content_type() == "text/plain"
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"  # 7-bit: no 8BITMIME needed
    assert text_of(parsed) == "Dzień dobry,\nfaktura w załączniku.\n"


def test_html_only_gets_a_text_part_made_from_it() -> None:
    html = (
        "<p>Dzień dobry,</p><p>w załączniku <a href='https://alfa.example.test/f/1'>faktura</a>."
        "<br>Termin: 14 dni.</p><ul><li>netto 100 zł</li><li>VAT 23 zł</li></ul>"
    )
    parsed = parse(build_message(draft(html=html), limits=LIMITS))
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert text_of(parts[0]) == (
        "Dzień dobry,\n\nw załączniku faktura (https://alfa.example.test/f/1).\n"
        "Termin: 14 dni.\n\n- netto 100 zł\n- VAT 23 zł\n"
    )
    assert "href='https://alfa.example.test/f/1'" in text_of(parts[1])


def test_given_text_is_used_rather_than_one_made_from_the_html() -> None:
    parsed = parse(build_message(draft(text="Wersja tekstowa", html="<p>HTML</p>"), limits=LIMITS))
    assert text_of(parsed.get_body(("plain",))) == "Wersja tekstowa\n"


def test_header_and_signature_in_both_parts_sanitized() -> None:
    built = build_message(
        draft(
            html="<p>Treść</p>",
            header_html="<p><b>Alfa</b> — biuro</p><script>alert(1)</script>",
            signature_html='<p>Pozdrawiam<br>Anna</p><img src="x" onerror="alert(2)">',
        ),
        limits=LIMITS,
    )
    parsed = parse(built)
    # RFC 3676 §4.3: "-- " on its own line starts the signature.
    assert text_of(parsed.get_body(("plain",))) == (
        "Alfa — biuro\n\nTreść\n\n-- \nPozdrawiam\nAnna\n"
    )
    markup = text_of(parsed.get_body(("html",)))
    assert markup.index("<b>Alfa</b>") < markup.index("Treść") < markup.index("Pozdrawiam")
    assert "script" not in markup and "onerror" not in markup


def test_header_and_signature_go_inside_a_whole_html_document() -> None:
    page = "<html><head><title>T</title></head><body><p>Treść</p></body></html>"
    parsed = parse(
        build_message(
            draft(html=page, header_html="<p>Nagłówek</p>", signature_html="<p>Podpis</p>"),
            limits=LIMITS,
        )
    )
    markup = text_of(parsed.get_body(("html",)))
    assert markup.index("<body>") < markup.index("Nagłówek") < markup.index("Treść")
    assert markup.index("Podpis") < markup.index("</body>")


def test_signature_in_a_text_only_message() -> None:
    built = build_message(
        draft(text="Treść", signature_html="<p>Anna <i>Nowak</i></p>"), limits=LIMITS
    )
    assert text_of(parse(built)) == "Treść\n\n-- \nAnna Nowak\n"


def test_reply_to_and_threading_headers() -> None:
    parent = "<" + "a" * 120 + "@mail.example.test>"  # longer than a line: never split
    built = build_message(
        draft(
            text="Odpowiedź",
            reply_to=Mailbox("ksiegowosc@alfa.example.test", "Księgowość"),
            in_reply_to=parent,
            references=("first@example.test", parent),
        ),
        limits=LIMITS,
    )
    headers = raw_headers(built.raw)
    assert display_name(headers["reply-to"]) == "Księgowość"
    assert headers["reply-to"].endswith("<ksiegowosc@alfa.example.test>")
    assert headers["in-reply-to"] == parent
    assert headers["references"] == f"<first@example.test> {parent}"
    assert "=?" not in headers["references"]
    # A reply to this message continues the thread (RFC 5322 §3.6.4).
    assert thread_references(built.raw) == (
        "first@example.test",
        "a" * 120 + "@mail.example.test",
        built.message_id,
    )


def test_polish_filename_round_trips_as_rfc_2231() -> None:
    built = build_message(
        draft(text="x", attachments=(Attachment(PDF_NAME, "application/pdf", b"%PDF-1.4"),)),
        limits=LIMITS,
    )
    assert b"filename*=utf-8''Faktura_1_2026_%C5%81%C3%B3d%C5%BA.pdf" in built.raw
    (attachment,) = parse(built).iter_attachments()
    assert attachment.get_filename() == PDF_NAME
    assert attachment.get_param("name") == PDF_NAME
    assert attachment["Content-Disposition"].content_disposition == "attachment"
    assert attachment["Content-Transfer-Encoding"] == "base64"


def test_five_megabyte_pdf_arrives_byte_for_byte() -> None:
    data = fake_pdf(5 * 1024 * 1024)
    built = build_message(
        draft(
            text="Faktura",
            html="<p>Faktura</p>",
            attachments=(Attachment(PDF_NAME, "application/pdf", data),),
        ),
        limits=LIMITS,
    )
    parsed = parse(built)
    assert parsed.get_content_type() == "multipart/mixed"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["multipart/alternative", "application/pdf"]
    content = parts[1].get_content()
    assert hashlib.sha256(content).digest() == hashlib.sha256(data).digest()
    assert max(len(line) for line in built.raw.split(b"\r\n")) <= 78


def test_bcc_is_only_in_the_envelope() -> None:
    built = build_message(
        draft(
            to=(Mailbox("jan@example.test"),),
            cc=(Mailbox("anna@example.test"),),
            bcc=(Mailbox("tajny@example.test", "Tajny"), Mailbox("JAN@example.test")),
            text="x",
        ),
        limits=LIMITS,
    )
    assert b"tajny" not in built.raw.lower() and b"bcc" not in built.raw.lower()
    assert built.recipients == (
        EnvelopeRecipient("jan@example.test", RecipientKind.TO),
        EnvelopeRecipient("anna@example.test", RecipientKind.CC),
        EnvelopeRecipient("tajny@example.test", RecipientKind.BCC),
    )  # one RCPT per address: the same person in to and bcc gets one copy
    assert built.envelope_from == SENDER.address


def test_international_domains_become_a_labels() -> None:
    built = build_message(
        draft(sender=Mailbox("biuro@łódź.example.test"), to=(Mailbox("jan@żółw.example.test"),)),
        limits=LIMITS,
    )
    assert built.envelope_from == "biuro@xn--d-uga0v4h.example.test"
    assert built.recipients[0].address == "jan@xn--w-uga1v8h.example.test"
    assert parse(built)["To"].addresses[0].domain == "xn--w-uga1v8h.example.test"
    assert built.message_id.endswith("@xn--d-uga0v4h.example.test")


def test_message_id_domain_and_date() -> None:
    when = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    first = build_message(draft(text="x"), limits=LIMITS, now=when)
    second = build_message(
        draft(text="x"), limits=LIMITS, message_id_domain="mail.postroom.example.test"
    )
    assert first.message_id.endswith("@alfa.example.test")  # the sender's domain by default
    assert second.message_id.endswith("@mail.postroom.example.test")
    assert first.message_id != build_message(draft(text="x"), limits=LIMITS).message_id
    headers = raw_headers(first.raw)
    assert headers["message-id"] == f"<{first.message_id}>"
    assert headers["date"] == "Sun, 01 Mar 2026 12:30:00 +0000"


def test_envelope_sender_may_differ_from_the_from_address() -> None:
    built = build_message(
        draft(text="x", envelope_from="bounces@relay.example.test"), limits=LIMITS
    )
    assert built.envelope_from == "bounces@relay.example.test"
    assert parse(built)["From"].addresses[0].addr_spec == SENDER.address


_HUGE = Attachment("duzy.pdf", "application/pdf", b"x" * (LIMITS.max_attachment_bytes + 1))


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"subject": "Faktura\r\nBcc: ofiara@example.test"}, "subject", "forbidden_character"),
        ({"subject": "Faktura\nX-Spam: no"}, "subject", "forbidden_character"),
        ({"subject": "Faktura\0"}, "subject", "forbidden_character"),
        ({"subject": "x" * 1001}, "subject", "too_long"),
        (
            {"to": (Mailbox("jan@example.test"), Mailbox("jan@example.test\r\nBcc: x@y.test"))},
            "to[1]",
            "invalid_address",
        ),
        ({"to": (Mailbox("jan@example.test", "Jan\r\nBcc: x@y.test"),)}, "to[0].name", None),
        ({"cc": (Mailbox("not an address"),)}, "cc[0]", "invalid_address"),
        ({"bcc": (Mailbox("żółw@example.test"),)}, "bcc[0]", "invalid_address"),  # SMTPUTF8
        ({"to": ()}, "to", "required"),
        ({"to": (Mailbox("a@example.test"),) * 101}, "to[100]", "too_many_recipients"),
        ({"reply_to": Mailbox("odpowiedz@")}, "reply_to", "invalid_address"),
        ({"sender": Mailbox("biuro@alfa.example.test", "Alfa\nBcc: x@y.test")}, "from.name", None),
        ({"in_reply_to": "<abc@example.test>\r\nBcc: x@y.test"}, "in_reply_to", None),
        ({"in_reply_to": "no angle and no at"}, "in_reply_to", "invalid_message_id"),
        ({"references": ("a@example.test", "two words@x")}, "references[1]", None),
        ({"attachments": (_HUGE,)}, "attachments[0]", "too_large"),
        ({"attachments": (Attachment("", "application/pdf", b"x"),)}, "attachments[0]", None),
        ({"attachments": (Attachment("a\r\n.pdf", "application/pdf", b"x"),)}, None, None),
        ({"attachments": (Attachment("a.pdf", "pdf", b"x"),)}, "attachments[0]", None),
    ],
)
def test_refusals_name_the_field(fields: dict[str, object], field: str | None, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build_message(draft(text="x", **fields), limits=LIMITS)
    problems = caught.value.problems
    assert problems, "a refusal names at least one field"
    if field is not None:
        assert field in [p.field for p in problems], problems
    else:
        assert all(p.field for p in problems)
    if code is not None:
        assert code in [p.code for p in problems]


def test_a_message_over_the_total_limit_is_refused() -> None:
    small = MimeLimits(max_attachment_bytes=600_000, max_message_bytes=1_000_000)
    files = tuple(Attachment(f"{n}.pdf", "application/pdf", b"x" * 500_000) for n in range(2))
    with pytest.raises(ValidationError) as caught:
        build_message(draft(text="x", attachments=files), limits=small)
    assert [(p.field, p.code) for p in caught.value.problems] == [
        ("attachments", "message_too_large")
    ]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        build_message(
            draft(to=(Mailbox("zly"),), cc=(Mailbox("tez zly"),), subject="a\nb"), limits=LIMITS
        )
    assert [p.field for p in caught.value.problems] == ["to[0]", "cc[0]", "subject"]


_ALLOWED_HEADERS = {"from", "to", "subject", "date", "message-id", "mime-version", "content-type"}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=st.text(max_size=300), name=st.text(max_size=120), filename=st.text(max_size=80))
def test_any_unicode_round_trips_or_is_refused_never_injected(
    subject: str, name: str, filename: str
) -> None:
    attachment = Attachment(filename or "plik.pdf", "application/pdf", b"%PDF")
    fields = {
        "sender": Mailbox(SENDER.address, name),
        "subject": subject,
        "text": "x",
        "attachments": (attachment,),
    }
    try:
        built = build_message(draft(**fields), limits=LIMITS)
    except ValidationError as exc:
        # Only what cannot be a header is refused: line breaks, NUL and other controls.
        assert {p.field for p in exc.problems} <= {"subject", "from.name", "attachments[0]"}
        return
    lines = built.raw.split(b"\r\n")
    assert all(len(line) <= 998 for line in lines)  # RFC 5322 §2.1.1
    assert not any(b"\r" in line or b"\n" in line for line in lines)  # no bare CR or LF
    headers = raw_headers(built.raw)
    assert set(headers) == _ALLOWED_HEADERS - ({"subject"} if not subject.strip(" \t") else set())
    parsed = parse(built)
    assert str(parsed.get("Subject", "")) == subject.strip(" \t")
    assert display_name(headers["from"]) == name.strip(" \t")
    # The parsed parameters, not get_filename(): email.utils.unquote() strips <…> as well.
    part = next(parsed.iter_attachments())
    assert part["Content-Disposition"].params["filename"] == attachment.filename.strip()
    assert part["Content-Type"].params["name"] == attachment.filename.strip()
