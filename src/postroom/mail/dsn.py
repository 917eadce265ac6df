"""Delivery status notifications (RFC 3464): which recipients failed, why, for which message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from email.parser import HeaderParser
from enum import StrEnum

from postroom.mail.errors import ProtocolError

_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")
_SPACES = re.compile(r"\s+")
# Enough for any real report; a hostile one cannot make the parser walk forever.
MAX_PARTS = 200
MAX_RECIPIENTS = 1000


class DsnParseError(ProtocolError):
    """The message is not an RFC 3464 report, or too broken to read one from."""

    code = "dsn_unreadable"


class DsnAction(StrEnum):
    """RFC 3464 §2.3.3."""

    FAILED = "failed"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    RELAYED = "relayed"
    EXPANDED = "expanded"


@dataclass(frozen=True)
class DsnRecipient:
    """One per-recipient block (RFC 3464 §2.3)."""

    final_recipient: str  # the address, without its "rfc822;" type
    original_recipient: str | None
    action: DsnAction | None  # None: missing or not a value RFC 3464 knows
    status: str  # "5.1.1" (RFC 3463), "" if missing or malformed
    diagnostic: str  # Diagnostic-Code, e.g. "smtp; 550 5.1.1 <x@y>: User unknown"
    remote_mta: str

    @property
    def failed(self) -> bool:
        """The report says delivery to this recipient failed for good."""
        return self.action is DsnAction.FAILED

    @property
    def reason(self) -> str:
        """What to show the sender: the remote server's words, else the status code."""
        return self.diagnostic or (f"Status {self.status}" if self.status else "Delivery failed")


@dataclass(frozen=True)
class DeliveryReport:
    original_message_id: str | None  # without <>, from the returned headers
    envelope_id: str | None  # Original-Envelope-Id (RFC 3461 ENVID), as sent
    reporting_mta: str
    recipients: tuple[DsnRecipient, ...]


def _clean(value: object) -> str:
    return _SPACES.sub(" ", str(value)).strip() if value is not None else ""


def _typed_value(value: object) -> str:
    """ "rfc822; bob@example.test" → "bob@example.test" (RFC 3464 §2.3.2 address-type)."""
    text = _clean(value)
    _type, separator, rest = text.partition(";")
    return (rest if separator else text).strip().strip("<>").strip()


def _message_id(value: object) -> str | None:
    text = _clean(value)
    found = re.search(r"<([^<>\s]+)>", text)
    if found:
        return found.group(1)
    return text.strip("<> ") or None  # a broken one, e.g. "<id@host" without its ">"


def _status_blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status part: per-message first, then one per
    recipient. The email package parses them already; a part it could not is split by hand."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = part.get_payload(decode=True)
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload)
    blocks = re.split(r"\r?\n\s*\r?\n", raw.strip())
    return [HeaderParser().parsestr(block) for block in blocks if block.strip()]


def _recipient(block: Message) -> DsnRecipient | None:
    final = _typed_value(block.get("Final-Recipient"))
    if not final:
        return None
    action_text = _clean(block.get("Action")).lower()
    status = _clean(block.get("Status")).split(" ")[0]
    original = _typed_value(block.get("Original-Recipient")) or None
    return DsnRecipient(
        final_recipient=final,
        original_recipient=original,
        action=DsnAction(action_text) if action_text in DsnAction._value2member_map_ else None,
        status=status if _STATUS.match(status) else "",
        diagnostic=_clean(block.get("Diagnostic-Code")),
        remote_mta=_typed_value(block.get("Remote-MTA")),
    )


def _original_message_id(parts: list[Message]) -> str | None:
    """The Message-ID of the returned original (text/rfc822-headers or message/rfc822)."""
    for part in parts:
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found = _message_id(inner[0].get("Message-ID"))
                if found:
                    return found
        elif kind == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else ""
            found = _message_id(HeaderParser().parsestr(text).get("Message-ID"))
            if found:
                return found
    return None


def parse_dsn(raw: bytes) -> DeliveryReport:
    """The report in `raw`; raises DsnParseError if it holds no delivery-status part."""
    # compat32: no header is parsed until asked for, and a malformed one never raises.
    message = message_from_bytes(raw, policy=policy.compat32)
    parts = []
    for index, part in enumerate(message.walk()):
        if index >= MAX_PARTS:
            break
        parts.append(part)
    status_part = next(
        (p for p in parts if p.get_content_type() == "message/delivery-status"), None
    )
    if status_part is None:
        raise DsnParseError("The message is not a delivery status notification (RFC 3464).")
    blocks = _status_blocks(status_part)
    if not blocks:
        raise DsnParseError("The delivery status part is empty.")
    per_message, per_recipient = blocks[0], blocks[1 : MAX_RECIPIENTS + 1]
    recipients = tuple(r for block in per_recipient if (r := _recipient(block)) is not None)
    return DeliveryReport(
        original_message_id=_original_message_id(parts),
        envelope_id=_clean(per_message.get("Original-Envelope-Id")) or None,
        reporting_mta=_typed_value(per_message.get("Reporting-MTA")),
        recipients=recipients,
    )
