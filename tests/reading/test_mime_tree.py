"""The quick MIME tree is the feed parser's tree, part for part, or it declines.

Compared on a few hundred generated realistic messages (plain, HTML, newsletters, PDF
attachments, replies), the broken-MIME corpus, and edge cases written here; where the quick
way declines, the feed parser is what runs, so either way the parse is the same.
"""

from __future__ import annotations

import email
from email import policy
from email.message import Message
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postroom.mail.mime_tree import message_tree
from postroom.mail.parse import parse_body
from tests.fixtures.fill_mailbox import Series

CORPUS = Path(__file__).parent.parent / "sync" / "corpus"


def _shape(message: Message) -> list[tuple[object, ...]]:
    return [
        (
            part.get_content_type(),
            part.items(),
            part.is_multipart(),
            None if part.is_multipart() else part.get_payload(),
            None if part.is_multipart() else part.get_payload(decode=True),
            part.get_filename(),
            [type(defect).__name__ for defect in part.defects],
        )
        for part in message.walk()
    ]


def _generated() -> list[bytes]:
    series = Series(seed=11)
    return [series.message(n)[0] for n in range(300)]


def test_generated_mail_takes_the_quick_way_to_the_same_tree() -> None:
    raws = _generated()
    for raw in raws:
        quick = message_tree(raw)
        assert quick is not None
        assert _shape(quick) == _shape(email.message_from_bytes(raw, policy=policy.compat32))


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


EDGES = {
    "nested with preamble and epilogue": _crlf(
        "From: a@b.pl\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=OUT\n\n"
        'preamble\n--OUT\nContent-Type: multipart/alternative; boundary="IN"\n\n'
        "--IN\nContent-Type: text/plain; charset=utf-8\n\nZażółć\n--IN\n"
        "Content-Type: text/html\n\n<p>x</p>\n--IN--\ninner epilogue\n--OUT\n"
        'Content-Type: application/pdf; name="f.pdf"\nContent-Transfer-Encoding: base64\n\n'
        "JVBERi0xLjQK\n--OUT--  \nepilogue\n"
    ),
    "a part without headers": _crlf(
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nplain body\n--b--\n"
    ),
    "white space after a delimiter": _crlf(
        "Content-Type: multipart/mixed; boundary=b\n\n--b \t\nContent-Type: text/plain\n\nx\n--b--"
    ),
    "a boundary-like line inside a part": _crlf(
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bx is not it\n text --b\n--b--\n"
    ),
    "LF line ends only": (
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n--b--\n"
    ),
    "folded and encoded headers": _crlf(
        'Subject: =?utf-8?q?Faktura?=\nContent-Type: multipart/mixed;\n boundary="=_b"\n\n'
        "--=_b\nContent-Type: application/octet-stream;\n name*=utf-8''faktura%20%C5%82.pdf\n"
        "Content-Disposition: attachment\n\nabc\n--=_b--\n"
    ),
    "single part": _crlf("Subject: x\nContent-Type: text/plain\n\nline\n\nlast\n"),
}


@pytest.mark.parametrize("raw", list(EDGES.values()), ids=list(EDGES))
def test_edge_cases_are_the_same_tree(raw: bytes) -> None:
    quick = message_tree(raw)
    assert quick is not None
    assert _shape(quick) == _shape(email.message_from_bytes(raw, policy=policy.compat32))


DECLINED = {
    "no closing delimiter": _crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n"),
    "no boundary parameter": _crlf("Content-Type: multipart/mixed\n\n--b\n\nx\n--b--\n"),
    "no first delimiter": _crlf("Content-Type: multipart/mixed; boundary=b\n\nx\n"),
    "a message/rfc822 part": _crlf(
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n"
        "Subject: inner\n\nbody\n--b--\n"
    ),
    "bare CR": b"Subject: x\r\rbody\r",
    "mixed line ends": b"Subject: x\r\nContent-Type: text/plain\n\nbody\r\n",
    "no empty line after the headers": b"Subject: x\r\nFrom: a@b.pl\r\n",
    "a header line that is not one": _crlf(
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nnot a header\nx: y\n\nz\n--b--\n"
    ),
}


@pytest.mark.parametrize("raw", list(DECLINED.values()), ids=list(DECLINED))
def test_what_is_not_plainly_well_formed_is_left_to_the_feed_parser(raw: bytes) -> None:
    assert message_tree(raw) is None


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.name)
def test_broken_mail_parses_the_same_either_way(path: Path) -> None:
    raw = path.read_bytes()
    quick = message_tree(raw)
    if quick is not None:
        assert _shape(quick) == _shape(email.message_from_bytes(raw, policy=policy.compat32))
    assert parse_body(raw) is not None


_MULTIPART = [raw for raw in _generated()[:60] if b"boundary=" in raw][:8]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(_MULTIPART),
    st.lists(
        st.tuples(st.sampled_from(["drop", "copy", "cut", "cr"]), st.floats(0, 1)), max_size=3
    ),
)
def test_damaged_mail_is_the_same_tree_or_declined(
    raw: bytes, damage: list[tuple[str, float]]
) -> None:
    lines = raw.split(b"\n")
    for kind, where in damage:
        at = int(where * (len(lines) - 1))
        if len(lines) < 2:
            break
        if kind == "drop":
            del lines[at]
        elif kind == "copy":
            lines.insert(at, lines[at])
        elif kind == "cut":
            lines = lines[: at + 1]
        else:
            lines[at] += b"\r"
    damaged = b"\n".join(lines)
    quick = message_tree(damaged)
    if quick is not None:
        assert _shape(quick) == _shape(email.message_from_bytes(damaged, policy=policy.compat32))
