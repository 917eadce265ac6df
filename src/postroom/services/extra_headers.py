"""Header fields a service adds to a built message (a campaign's List-Unsubscribe), checked."""

# Added before the relay signs the message (relay_identity.py): RFC 8058 §4 wants the DKIM
# signature to cover List-Unsubscribe and List-Unsubscribe-Post, and dkim_keys.SIGNED_HEADERS
# names them, so one added after signing would break the signature.

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from postroom.mail import mime
from postroom.services.deliverability_headers import set_field

# RFC 5322 §3.6.8: printable US-ASCII except the colon. The value may fold only as
# mime_headers folds ("\n "), which set_field checks: no bare CR or LF can slip in.
_FIELD_NAME = re.compile(r"^[!-9;-~]{1,76}$")
_RESERVED = frozenset(
    {"from", "to", "cc", "bcc", "subject", "date", "message-id", "sender", "reply-to"}
)


def add_headers(built: mime.BuiltMessage, headers: Sequence[tuple[str, str]]) -> mime.BuiltMessage:
    """`built` with each (name, folded value) set; a name the builder owns, or a value with a
    line break that is not a fold, is a programming error (ValueError), never sent."""
    raw = built.raw
    for name, value in headers:
        if not _FIELD_NAME.match(name) or name.lower() in _RESERVED:
            raise ValueError(f"not a header field that may be added: {name!r}")
        raw = set_field(raw, name, value)
    return dataclasses.replace(built, raw=raw)
