"""The standard port of each protocol for each security mode (RFC 8314, 6409, 3501, 1939)."""

from __future__ import annotations

from postroom.enums import IncomingProtocol, Security

_SMTP = {Security.TLS: 465, Security.STARTTLS: 587, Security.NONE: 25}
_IMAP = {Security.TLS: 993, Security.STARTTLS: 143, Security.NONE: 143}
_POP3 = {Security.TLS: 995, Security.STARTTLS: 110, Security.NONE: 110}


def smtp_port(security: Security) -> int:
    return _SMTP[security]


def incoming_port(protocol: IncomingProtocol, security: Security) -> int | None:
    if protocol is IncomingProtocol.IMAP:
        return _IMAP[security]
    if protocol is IncomingProtocol.POP3:
        return _POP3[security]
    return None
