"""Bounces: a delivery status notification marks the recipients of our message it reports."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models_outbox import OutboxMessage, OutboxRecipient
from postroom.enums import MessageStatus, RecipientStatus
from postroom.mail.dsn import DeliveryReport, DsnParseError, DsnRecipient, parse_dsn

log = logging.getLogger("postroom.bounces")
_XTEXT = re.compile(r"\+([0-9A-Fa-f]{2})")
_CODE = re.compile(r"\b([245]\d\d)\b")
MAX_REASON = 2000
# Recipients that may still be delivered: while one is, the message is not bounced as a whole.
_STILL_GOING = (RecipientStatus.ACCEPTED, RecipientStatus.PENDING, RecipientStatus.DEFERRED)


@dataclass(frozen=True)
class BounceResult:
    """What a DSN did: which message and recipients it marked, or why it marked nothing."""

    applied: bool
    message_id: int | None = None
    bounced: tuple[str, ...] = ()
    message_bounced: bool = False
    reason: str = ""


def _unxtext(value: str) -> str:
    """RFC 3461 §4 xtext decoded: the ENVID we sent comes back as we encoded it."""
    return _XTEXT.sub(lambda found: chr(int(found.group(1), 16)), value)


def _find_message(session: Session, report: DeliveryReport) -> OutboxMessage | None:
    keys = [report.original_message_id, report.envelope_id and _unxtext(report.envelope_id)]
    for key in keys:
        if key:
            found = session.scalar(
                select(OutboxMessage).where(OutboxMessage.message_id == key.strip("<>"))
            )
            if found is not None:
                return found
    return None


def _matching(recipients: list[OutboxRecipient], reported: DsnRecipient) -> OutboxRecipient | None:
    wanted = {reported.final_recipient.casefold()}
    if reported.original_recipient:
        wanted.add(reported.original_recipient.casefold())
    return next((r for r in recipients if r.address.casefold() in wanted), None)


def _code(reported: DsnRecipient) -> int | None:
    found = _CODE.search(reported.diagnostic)
    if found:
        return int(found.group(1))
    return int(reported.status[0]) * 100 if reported.status else None


def apply_dsn(session: Session, raw: bytes) -> BounceResult:
    """Mark the recipients a DSN reports as failed BOUNCED, with the reason; the message
    becomes BOUNCED when none of its recipients can still be delivered.

    Matching is by the original's Message-ID (or the ENVID we sent), within the session's
    company: a report about another company's message finds nothing. A report that cannot
    be read, or matches nothing, changes nothing and says why.
    """
    try:
        report = parse_dsn(raw)
    except DsnParseError as exc:
        return BounceResult(False, reason=exc.message)
    message = _find_message(session, report)
    if message is None:
        return BounceResult(False, reason="The report is about no message sent by Postroom.")
    bounced: list[str] = []
    for reported in report.recipients:
        recipient = _matching(message.recipients, reported) if reported.failed else None
        if recipient is None:
            continue
        recipient.status = RecipientStatus.BOUNCED
        recipient.code = _code(reported)
        recipient.reply = reported.reason[:MAX_REASON]
        bounced.append(recipient.address)
    if not bounced:
        return BounceResult(False, message.id, reason="The report names no failed recipient.")
    whole = not any(r.status in _STILL_GOING for r in message.recipients)
    if whole:
        message.status = MessageStatus.BOUNCED
        message.last_reply = "; ".join(
            f"{r.address}: {r.reply}" for r in message.recipients if r.reply
        )[:MAX_REASON]
    log.info(
        "bounce applied",
        extra={"message_id": message.id, "recipients": len(bounced), "whole": whole},
    )
    return BounceResult(True, message.id, tuple(bounced), whole)
