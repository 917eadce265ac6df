"""Helpers every line protocol shares: which protocol a greeting belongs to."""

from __future__ import annotations


def spoken_protocol(line: bytes) -> str | None:
    """The protocol a server's first line belongs to, if it is recognisable."""
    if line.startswith(b"\x16\x03"):  # a TLS handshake record: the server expects TLS
        return "TLS"
    text = line.decode("utf-8", "replace")
    if text.startswith("* "):
        return "IMAP"
    if text.startswith(("+OK", "-ERR")):
        return "POP3"
    if text.startswith("HTTP/"):
        return "HTTP"
    if text[:3].isdigit():
        return "SMTP"
    return None


def other_protocol(line: bytes, expected: str) -> str | None:
    """A sentence naming the protocol that answered, when it is not `expected`."""
    spoken = spoken_protocol(line)
    if spoken is None or spoken == expected:
        return None
    shown = line.decode("utf-8", "replace").strip()[:200]
    return f'This port speaks {spoken}, not {expected}: "{shown}"'
