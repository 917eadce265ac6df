"""SMTP reply classes: success, temporary or permanent (RFC 5321 §4.2.1, RFC 3463)."""

from __future__ import annotations

import re
from enum import StrEnum

# "5.1.1" at the start of a reply's text (RFC 2034 ENHANCEDSTATUSCODES, syntax of RFC 3463 §2).
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")
MAILBOX_FULL_OR_STORAGE = 552


class ReplyClass(StrEnum):
    SUCCESS = "success"  # 2xx (and 3xx: the server waits for more)
    TEMPORARY = "temporary"  # 4xx: try again later (RFC 5321 §4.2.1 "transient negative")
    PERMANENT = "permanent"  # 5xx: do not repeat the same request


class Phase(StrEnum):
    """The command a reply answers; the class of a few codes depends on it."""

    CONNECT = "connect"  # greeting, EHLO, STARTTLS, AUTH
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"  # the DATA command itself
    MESSAGE = "message"  # the reply after <CRLF>.<CRLF>


def enhanced_status(text: str) -> str | None:
    """The enhanced status code ("5.1.1") a reply's text starts with, if any."""
    found = _ENHANCED.match(text.strip())
    return found.group(0) if found else None


def classify(code: int, phase: Phase) -> ReplyClass:
    """Whether a reply is success, a temporary or a permanent failure.

    Only the basic code decides (RFC 3463 §3: the enhanced code adds detail but must not
    contradict it). The one exception is 552 to RCPT: RFC 5321 §4.5.3.1.10 says clients
    should treat it as the temporary 452 ("too many recipients" / storage), as Mailman does.
    """
    if code < 400:
        return ReplyClass.SUCCESS
    if code < 500:
        return ReplyClass.TEMPORARY
    if code == MAILBOX_FULL_OR_STORAGE and phase is Phase.RCPT:
        return ReplyClass.TEMPORARY
    return ReplyClass.PERMANENT
