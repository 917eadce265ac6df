"""The SMS queue: a durable row per SMS, sent by the worker, retried while the provider is
unreachable, settled by delivery reports (services/sms_callbacks.py).

An SMS is queued in the caller's transaction (with the communication it belongs to) and
claimed by a worker under a lease, as in the outbox: one UPDATE … WHERE id IN (SELECT … FOR
UPDATE SKIP LOCKED), so two workers never send one row. Sending is at least once: a worker
that dies after the provider took an SMS but before recording it leaves a row that another
worker sends again when the lease ends.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, select, update
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models_channels import OfficeSettings, SmsMessage
from postroom.enums import SmsStatus
from postroom.errors import ConflictError, ValidationError
from postroom.notify.sms.base import (
    OutgoingSms,
    SendResult,
    SmsProvider,
    SmsProviderError,
    SmsTemporaryError,
)
from postroom.notify.sms.numbers import PhoneNumberError, to_e164
from postroom.notify.sms.segments import count_segments
from postroom.notify.sms.smsapi import MAX_PARTS
from postroom.services.outbox import RetryPolicy
from postroom.services.runtime import Runtime
from postroom.services.sms_callbacks import refresh_communications
from postroom.services.sms_office import MAX_SMS_CHARACTERS, sms_enabled
from postroom.services.sms_providers import callback_url, configured_provider, open_provider

log = logging.getLogger("postroom.sms")
SMS = cast(Table, SmsMessage.__table__)
C = SMS.c
BATCH = 100
CONCURRENCY = 8
POLICY = RetryPolicy(base_seconds=30.0, max_seconds=1800.0)


def _check_body(body: str) -> str:
    body = body.strip()
    problem = None
    if not body:
        problem, code = "An SMS needs some text.", "sms_empty"
    elif len(body) > MAX_SMS_CHARACTERS or count_segments(body).segments > MAX_PARTS:
        problem = (
            f"An SMS may take at most {MAX_PARTS} parts (about 1500 characters without Polish "
            "letters, 670 with them); shorten the text."
        )
        code = "sms_too_long"
    if problem is not None:
        raise ValidationError.for_field("body", problem, code)
    return body


def enqueue_sms(
    session: Session,
    *,
    runtime: Runtime,
    to_number: str,
    body: str,
    client_id: int | None,
    contact_id: int | None,
    communication_id: int | None,
) -> SmsMessage:
    """Queue one SMS in the caller's transaction (no commit); the worker sends it."""
    provider = configured_provider(runtime.settings)
    if not sms_enabled(session):
        raise ConflictError(
            "SMS is turned off for this office; an administrator turns it on in the office "
            "settings by accepting its price list.",
            code="sms_not_enabled",
        )
    if provider is None:
        raise ConflictError(
            "This installation has no SMS provider; its operator sets POSTROOM_SMS_PROVIDER.",
            code="sms_not_configured",
        )
    try:
        number = to_e164(to_number)
    except PhoneNumberError as exc:
        raise ValidationError.for_field("to_number", str(exc), "invalid_phone_number") from exc
    text = _check_body(body)
    count = count_segments(text)
    office = session.scalars(select(OfficeSettings)).first()
    settings = runtime.settings
    now = utcnow()
    sms = SmsMessage(
        client_id=client_id,
        contact_id=contact_id,
        communication_id=communication_id,
        to_number=number,
        sender_name=office.sms_sender_name if office is not None else None,
        body=text,
        encoding=count.encoding.value,
        segments=count.segments,
        cost_estimate=settings.sms_price_per_segment * count.segments,
        currency=settings.sms_currency,
        provider=provider.value,
        status=SmsStatus.QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(sms)
    session.flush()
    return sms


@dataclass(frozen=True)
class ClaimedSms:
    id: int
    company_id: int
    communication_id: int | None
    to_number: str
    body: str
    sender_name: str | None
    attempts: int  # including this one
    created_at: datetime


@dataclass(frozen=True)
class SendOutcome:
    sms: ClaimedSms
    result: SendResult | None = None
    error: SmsProviderError | None = None


def claim_due(
    session: Session, *, now: datetime, lease_seconds: float, limit: int = BATCH
) -> list[ClaimedSms]:
    """Lease due SMS of every company (platform session); the caller commits at once. A
    SENDING row whose lease (next_attempt_at) has passed belonged to a worker that died."""
    due = (
        select(C.id)
        .where(C.status.in_([SmsStatus.QUEUED, SmsStatus.SENDING]), C.next_attempt_at <= now)
        .order_by(C.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    lease_end = now + timedelta(seconds=lease_seconds)
    claim = (
        update(SMS)
        .where(C.id.in_(due.scalar_subquery()))
        .values(
            status=SmsStatus.SENDING,
            attempts=C.attempts + 1,
            next_attempt_at=lease_end,
            lease_until=lease_end,
        )
        .returning(
            C.id,
            C.company_id,
            C.communication_id,
            C.to_number,
            C.body,
            C.sender_name,
            C.attempts,
            C.created_at,
        )
    )
    rows = session.connection().execute(claim).all()
    return [ClaimedSms(*row) for row in rows]


async def _send_one(
    provider: SmsProvider, sms: ClaimedSms, runtime: Runtime, gate: asyncio.Semaphore
) -> SendOutcome:
    outgoing = OutgoingSms(
        to=sms.to_number,
        body=sms.body,
        sender_name=sms.sender_name,
        callback_url=callback_url(runtime.settings, provider.name, sms.id),
        reference=str(sms.id),
    )
    async with gate:
        try:
            return SendOutcome(sms, result=await provider.send(outgoing))
        except SmsProviderError as exc:
            return SendOutcome(sms, error=exc)


def _values_for(outcome: SendOutcome, *, now: datetime, deadline: timedelta) -> dict[str, Any]:
    sms, error = outcome.sms, outcome.error
    values: dict[str, Any] = {"lease_until": None, "status_at": now}
    if outcome.result is not None:
        return values | {
            "status": SmsStatus.SENT,
            "provider_message_id": outcome.result.provider_message_id,
            "sent_at": now,
            "error": None,
        }
    assert error is not None
    give_up_at = sms.created_at + deadline
    if error.permanent or now >= give_up_at:
        text = (
            error.message
            if error.permanent
            else f"{error.message} (gave up after {sms.attempts} attempts)"
        )
        return values | {"status": SmsStatus.FAILED, "error": text}
    retry_at = POLICY.next_attempt(sms.attempts, now, give_up_at)
    return values | {
        "status": SmsStatus.QUEUED,
        "next_attempt_at": retry_at,
        "error": error.message,
    }


def record(
    session: Session, outcomes: list[SendOutcome], *, now: datetime, deadline: timedelta
) -> None:
    """Write each outcome if the claim is still ours (SENDING, same attempt count). A delivery
    report may have overtaken it (the provider called back before this commit): then only
    the provider's id and the send time are added."""
    for outcome in outcomes:
        sms = outcome.sms
        values = _values_for(outcome, now=now, deadline=deadline)
        ours = and_(C.id == sms.id, C.attempts == sms.attempts)
        done = session.connection().execute(
            update(SMS).where(ours, C.status == SmsStatus.SENDING).values(**values)
        )
        if done.rowcount == 0 and outcome.result is not None:
            session.connection().execute(
                update(SMS)
                .where(ours, C.sent_at.is_(None))
                .values(sent_at=now, provider_message_id=outcome.result.provider_message_id)
            )
        if outcome.error is not None:
            log.info(
                "sms not sent",
                extra={
                    "sms_id": sms.id,
                    "attempt": sms.attempts,
                    "permanent": outcome.error.permanent,
                    "error": outcome.error.message,
                },
            )


async def send_due(runtime: Runtime, *, limit: int = BATCH) -> int:
    """Send what is due now, once; the number of SMS attempted."""
    settings = runtime.settings
    lease = settings.sms_timeout_seconds * 3 + 30
    with runtime.platform() as session:
        claimed = claim_due(session, now=utcnow(), lease_seconds=lease, limit=limit)
    if not claimed:
        return 0
    gate = asyncio.Semaphore(CONCURRENCY)
    async with open_provider(settings) as provider:
        if provider is None:
            missing = SmsTemporaryError("No SMS provider is configured (POSTROOM_SMS_PROVIDER).")
            outcomes = [SendOutcome(sms, error=missing) for sms in claimed]
        else:
            outcomes = list(
                await asyncio.gather(*(_send_one(provider, s, runtime, gate) for s in claimed))
            )
    deadline = timedelta(hours=settings.sms_retry_deadline_hours)
    with runtime.platform() as session:
        record(session, outcomes, now=utcnow(), deadline=deadline)
    refresh_communications(runtime, [(o.sms.company_id, o.sms.communication_id) for o in outcomes])
    return len(claimed)
