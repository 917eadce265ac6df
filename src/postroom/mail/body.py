"""A message's bodies: the sender's text and HTML, framed by the account's header and signature."""

from __future__ import annotations

import re
from dataclasses import dataclass

from postroom.mail.html import sanitize_html
from postroom.mail.html_text import html_to_text

# RFC 3676 §4.3: "-- " alone on a line starts a signature; mail clients hide it in replies.
SIGNATURE_SEPARATOR = "-- "
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class Bodies:
    """The text/plain body, and the text/html one when the message has HTML."""

    text: str
    html: str | None


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _join_text(header: str, body: str, signature: str) -> str:
    parts = [part for part in (header.strip("\n"), body.rstrip()) if part]
    text = "\n\n".join(parts)
    if signature.strip():
        text = f"{text}\n\n{SIGNATURE_SEPARATOR}\n{signature.strip(chr(10))}".lstrip("\n")
    return text + "\n"


def _join_html(header: str, body: str, signature: str) -> str:
    top = f'<div class="postroom-header">{header}</div>\n' if header else ""
    bottom = f'\n<div class="postroom-signature">{signature}</div>' if signature else ""
    opened = _BODY_OPEN.search(body)
    closes = list(_BODY_CLOSE.finditer(body))
    if opened is None or not closes or closes[-1].start() < opened.end():
        return f"{top}{body}{bottom}"
    # A whole document: the header and signature go inside its <body>.
    close = closes[-1].start()
    return body[: opened.end()] + top + body[opened.end() : close] + bottom + body[close:]


def compose_bodies(
    *, text: str | None, html: str | None, header_html: str = "", signature_html: str = ""
) -> Bodies:
    """The bodies to send. Without a text version, it is made from the HTML; the header and
    signature are sanitized (nh3) and added to both, as text in the text body.

    The sender's own HTML is sent as written: it is their document, and the recipient's
    client renders it under its own rules; the header and signature are stored on the account
    and shown in Postroom's pages, so they are cleaned.
    """
    header = sanitize_html(header_html)
    signature = sanitize_html(signature_html)
    if html is not None and not html.strip():
        html = None
    if text is not None and text.strip():
        body_text = _newlines(text)
    else:
        body_text = html_to_text(html) if html is not None else ""
    joined_text = _join_text(html_to_text(header), body_text, html_to_text(signature))
    joined_html = None if html is None else _join_html(header, _newlines(html), signature)
    return Bodies(text=joined_text, html=joined_html)
