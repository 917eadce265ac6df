"""Reading built messages back: parsing, raw headers, display names decoded per RFC 2047."""

from __future__ import annotations

import base64
import email
import quopri
import re
from email import policy
from email.message import EmailMessage

from postroom.mail.mime import BuiltMessage, Mailbox, MessageDraft

SENDER = Mailbox("biuro@alfa.example.test", "Biuro Rachunkowe Alfa")
PDF_HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"

_TOKEN = re.compile(
    r"(?P<ew>=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)"  # an encoded word
    r'|(?P<qs>"(?:\\.|[^"\\])*")'  # a quoted string
    r"|(?P<ws>[ \t]+)"
    r'|(?P<atom>[^\s"]+)'
)


def fake_pdf(size: int) -> bytes:
    """`size` bytes that start like a PDF and are not all alike (base64 must not hide errors)."""
    pattern = bytes(range(256)) * (size // 256 + 1)
    return (PDF_HEADER + pattern)[:size]


def parse(built: BuiltMessage | bytes) -> EmailMessage:
    raw = built.raw if isinstance(built, BuiltMessage) else built
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(part: EmailMessage | None) -> str:
    """A text part's content with LF line ends (quoted-printable keeps the CRLF of the wire)."""
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def draft(**fields: object) -> MessageDraft:
    values: dict[str, object] = {"sender": SENDER, "to": (Mailbox("jan@example.test"),)}
    values.update(fields)
    return MessageDraft(**values)  # type: ignore[arg-type]


def raw_headers(raw: bytes) -> dict[str, str]:
    """Each header of the top level, unfolded, exactly as written (lower-case names)."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r\n(?=[ \t])", "", head)
    pairs = (line.split(":", 1) for line in unfolded.split("\r\n"))
    return {name.lower(): value.strip() for name, value in pairs}


def _decode_word(word: str) -> str:
    _, charset, encoding, text, _ = word.split("?")
    if encoding.lower() == "b":
        data = base64.b64decode(text)
    else:
        data = quopri.decodestring(text.replace("_", " ").encode(), header=True)
    return data.decode(charset)


def display_name(header_value: str) -> str:
    """The display name of a one-mailbox header as an RFC 2047 reader shows it: white space
    between adjacent encoded words is dropped (§6.2). Python 3.11's address parser keeps it
    (CPython gh-128110), so it cannot be the judge here."""
    phrase = header_value.rsplit("<", 1)[0] if header_value.endswith(">") else ""
    out: list[str] = []
    last = ""  # kind of the last non-space token
    pending_space = ""
    for match in _TOKEN.finditer(phrase.strip()):
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "ws":
            pending_space = text
            continue
        if pending_space and not (kind == "ew" and last == "ew"):
            out.append(pending_space)
        pending_space = ""
        if kind == "ew":
            out.append(_decode_word(text))
        elif kind == "qs":
            out.append(re.sub(r"\\(.)", r"\1", text[1:-1]))
        else:
            out.append(text)
        last = kind
    return "".join(out)
