"""RFC 3464 parsing on DSNs produced by the local Postfix, and on broken ones."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postroom.mail.dsn import DsnAction, DsnParseError, parse_dsn
from postroom.mail.smtp_status import Phase, ReplyClass, classify, enhanced_status

CORPUS = Path(__file__).parent / "corpus" / "dsn"


def _read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_postfix_user_unknown_with_the_whole_original() -> None:
    report = parse_dsn(_read("postfix-user-unknown.eml"))
    assert report.original_message_id == "ca9021f59c8e418781434dde6b638fdf@example.test"
    assert report.envelope_id == "ca9021f59c8e418781434dde6b638fdf@example.test"
    assert report.reporting_mta == "mail.example.test"
    (recipient,) = report.recipients
    assert recipient.final_recipient == "ghost-0764395e@example.test"
    assert recipient.original_recipient == "ghost-0764395e@example.test"
    assert recipient.action is DsnAction.FAILED and recipient.failed
    assert recipient.status == "5.1.1"
    assert recipient.remote_mta == "127.0.0.1"
    # Folded Diagnostic-Code lines come back as one line of the server's words.
    assert recipient.reason == (
        "smtp; 550 5.1.1 <ghost-0764395e@example.test> User doesn't exist: "
        "ghost-0764395e@example.test"
    )


def test_postfix_headers_only_report() -> None:
    # RET=HDRS (RFC 3461): the original comes back as text/rfc822-headers.
    report = parse_dsn(_read("postfix-headers-only.eml"))
    assert report.original_message_id == "4c39d34f16184d96bbc37fd546d76bf1@example.test"
    assert [r.final_recipient for r in report.recipients] == ["ghost-501ff1ec@example.test"]


def test_a_malformed_report_does_not_crash() -> None:
    report = parse_dsn(_read("malformed-truncated.eml"))
    assert report.original_message_id == "unterminated@broken.test"
    # The block with an empty Final-Recipient is no recipient; the other has an odd action.
    (recipient,) = report.recipients
    assert recipient.final_recipient == "rfc822"
    assert recipient.action is DsnAction.FAILED  # "FAILED": values are case-insensitive
    assert recipient.status == "5.1.1"


def test_something_that_is_no_report_is_refused_in_words() -> None:
    with pytest.raises(DsnParseError, match="not a delivery status notification"):
        parse_dsn(_read("not-a-report.eml"))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_either_parse_or_raise_the_parse_error(data: bytes) -> None:
    raw = b"Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\n" + data
    with contextlib.suppress(DsnParseError):
        parse_dsn(raw)


@pytest.mark.parametrize(
    ("code", "phase", "expected"),
    [
        (250, Phase.MESSAGE, ReplyClass.SUCCESS),
        (421, Phase.CONNECT, ReplyClass.TEMPORARY),
        (451, Phase.MESSAGE, ReplyClass.TEMPORARY),
        (550, Phase.RCPT, ReplyClass.PERMANENT),
        (552, Phase.RCPT, ReplyClass.TEMPORARY),  # RFC 5321 §4.5.3.1.10
        (552, Phase.MESSAGE, ReplyClass.PERMANENT),
        (554, Phase.MESSAGE, ReplyClass.PERMANENT),
    ],
)
def test_reply_classes(code: int, phase: Phase, expected: ReplyClass) -> None:
    assert classify(code, phase) is expected


def test_enhanced_status_codes() -> None:
    assert enhanced_status("5.1.1 <x@y>: Recipient address rejected") == "5.1.1"
    assert enhanced_status("Ok: queued") is None
