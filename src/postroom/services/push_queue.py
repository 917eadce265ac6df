"""The Web Push queue: one durable row per subscription, sent by the worker, retried with backoff.

A message is queued (PushMessage, QUEUED) in the caller's transaction, so it goes out only if
what decided to send it is committed. The worker claims due rows under a lease (FOR UPDATE
SKIP LOCKED on PostgreSQL: two workers never claim one row), sends each through
notify/webpush.py and records the outcome only if the claim is still its own. 429 and 5xx
answers and network failures are retried until `webpush_retry_deadline_hours` after queueing;
404/410 mean the browser dropped the subscription (RFC 8030 §7.3): the message is EXPIRED and
the subscription is never used again; other refusals are FAILED at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models_channels import PushMessage, PushSubscription
from postroom.enums import PushStatus
from postroom.errors import PostroomError
from postroom.mail.netguard import HostNotAllowedError, NetworkPolicy, parse_networks
from postroom.notify.webpush import (
    MAX_PLAINTEXT_BYTES,
    PushOptions,
    PushOutcome,
    PushResult,
    PushTarget,
    send_push_async,
)
from postroom.secrets import Secret
from postroom.services import communications, push_subscriptions, vapid_keys
from postroom.services.outbox import RetryPolicy
from postroom.services.runtime import Runtime

log = logging.getLogger("postroom.webpush")
MESSAGES = cast(Table, PushMessage.__table__)
M = MESSAGES.c
BATCH = 100
CONCURRENCY = 8
TITLE_CHARS = 200
URL_CHARS = 1000
POLICY = RetryPolicy(base_seconds=30.0, max_seconds=3600.0)


def payload_of(title: str, body: str, url: str | None) -> dict[str, Any]:
    """What the service worker shows (web/static/push-sw.js). The body is shortened so the
    JSON fits in one push message (RFC 8030 §7.2: 4096 bytes, encrypted)."""
    document: dict[str, Any] = {"title": title[:TITLE_CHARS], "body": body, "url": url}
    if url is not None:
        document["url"] = url[:URL_CHARS]
    over = len(_encode(document)) - MAX_PLAINTEXT_BYTES
    if over > 0:  # cut by UTF-8 bytes (Polish letters take two), keeping whole characters
        room = len(body.encode()) - over - len("…".encode())
        document["body"] = body.encode()[: max(0, room)].decode(errors="ignore") + "…"
    while (over := len(_encode(document)) - MAX_PLAINTEXT_BYTES) > 0:
        # JSON escapes (quotes, control characters) took more: each character is ≥ 1 byte.
        document["body"] = document["body"][: -over - 1] + "…"
    return document


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def enqueue_push(
    session: Session,
    *,
    client_id: int,
    communication_id: int | None,
    title: str,
    body: str,
    url: str | None,
) -> list[PushMessage]:
    """One queued message per live subscription of the client's contact persons (none: [])."""
    subscriptions = push_subscriptions.for_client(session, client_id=client_id, live_only=True)
    payload = payload_of(title, body, url)
    now = utcnow()
    queued = [
        PushMessage(
            subscription_id=sub.id,
            communication_id=communication_id,
            payload=payload,
            status=PushStatus.QUEUED,
            next_attempt_at=now,
            created_at=now,
        )
        for sub in subscriptions
    ]
    session.add_all(queued)
    session.flush()
    return queued


@dataclass(frozen=True)
class ClaimedPush:
    id: int
    company_id: int
    subscription_id: int
    communication_id: int | None
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    lease_until: datetime


def claim_due(
    session: Session, *, now: datetime, lease_seconds: float, limit: int = BATCH
) -> list[ClaimedPush]:
    """Lease due messages of every company (platform session); the caller commits at once.
    A QUEUED row whose lease has passed belonged to a worker that died: it is due again."""
    lease_until = now + timedelta(seconds=lease_seconds)
    due = (
        select(M.id)
        .where(
            M.status == PushStatus.QUEUED,
            M.next_attempt_at <= now,
            or_(M.lease_until.is_(None), M.lease_until <= now),
        )
        .order_by(M.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(MESSAGES)
        .where(M.id.in_(due.scalar_subquery()))
        .values(lease_until=lease_until)
        .returning(
            M.id,
            M.company_id,
            M.subscription_id,
            M.communication_id,
            M.payload,
            M.attempts,
            M.created_at,
        )
    )
    rows = session.connection().execute(claim).all()
    return [
        ClaimedPush(
            id=row.id,
            company_id=row.company_id,
            subscription_id=row.subscription_id,
            communication_id=row.communication_id,
            payload=row.payload,
            attempts=row.attempts,
            created_at=row.created_at,
            lease_until=lease_until,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Attempt:
    push: ClaimedPush
    result: PushResult


def _targets(session: Session, claimed: list[ClaimedPush]) -> dict[int, PushSubscription]:
    ids = {c.subscription_id for c in claimed}
    rows = session.scalars(select(PushSubscription).where(PushSubscription.id.in_(ids)))
    return {row.id: row for row in rows if row.expired_at is None}


async def _send_one(
    push: ClaimedPush,
    target: PushTarget | None,
    *,
    private_pem: Secret,
    options: PushOptions,
    policy: NetworkPolicy,
) -> Attempt:
    if target is None:
        gone = PushResult(PushOutcome.EXPIRED, None, "The browser's subscription has expired.")
        return Attempt(push, gone)
    parts = urlsplit(target.endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await policy.resolve(parts.hostname or "", port)
    except HostNotAllowedError as exc:  # checked when subscribing; DNS has changed since
        return Attempt(push, PushResult(PushOutcome.PERMANENT, None, exc.message))
    except PostroomError as exc:  # not in DNS (now): perhaps a passing DNS failure
        return Attempt(push, PushResult(PushOutcome.TEMPORARY, None, exc.message))
    payload = _encode(push.payload)
    for address in addresses:  # in DNS order, until one connects
        result = await send_push_async(
            target, payload, vapid_private_pem=private_pem, options=options, address=address
        )
        if not result.unreachable:
            break
    return Attempt(push, result)


def _values(attempt: Attempt, *, now: datetime, deadline: timedelta) -> dict[str, Any]:
    push, result = attempt.push, attempt.result
    values: dict[str, Any] = {
        "attempts": push.attempts + 1,
        "error": result.detail,
        "lease_until": None,
    }
    if result.outcome is PushOutcome.SENT:
        return values | {"status": PushStatus.SENT, "sent_at": now, "error": None}
    if result.outcome is PushOutcome.EXPIRED:
        return values | {"status": PushStatus.EXPIRED}
    give_up_at = push.created_at + deadline
    if result.outcome is PushOutcome.PERMANENT or now >= give_up_at:
        return values | {"status": PushStatus.FAILED}
    retry_at = POLICY.next_attempt(push.attempts + 1, now, give_up_at)
    if result.retry_after_seconds is not None:  # RFC 9110 §10.2.3: the service says when
        retry_at = min(
            max(retry_at, now + timedelta(seconds=result.retry_after_seconds)), give_up_at
        )
    return values | {"status": PushStatus.QUEUED, "next_attempt_at": retry_at}


def record(session: Session, attempts: list[Attempt], *, now: datetime, deadline: timedelta) -> int:
    """Write each outcome if the claim is still ours; expire gone subscriptions; refresh the
    client's communication history. The number of rows written."""
    written = 0
    for attempt in attempts:
        push = attempt.push
        values = _values(attempt, now=now, deadline=deadline)
        changed = session.connection().execute(
            update(MESSAGES)
            .where(
                and_(
                    M.id == push.id,
                    M.status == PushStatus.QUEUED,
                    M.attempts == push.attempts,
                    M.lease_until == push.lease_until,
                )
            )
            .values(**values)
        )
        if changed.rowcount != 1:
            continue  # the lease ran out and another worker took it over
        written += 1
        if values["status"] is PushStatus.EXPIRED:
            push_subscriptions.mark_expired(session, push.subscription_id)
        if values["status"] is not PushStatus.SENT:
            log.info(
                "push message not sent",
                extra={
                    "push_message_id": push.id,
                    "attempt": values["attempts"],
                    "status": values["status"].value,
                    "error": attempt.result.detail,
                },
            )
        if push.communication_id is not None and values["status"] is not PushStatus.QUEUED:
            communications.refresh_status(session, push.communication_id)
    return written


def _options(runtime: Runtime) -> PushOptions:
    settings = runtime.settings
    return PushOptions(
        subject=settings.webpush_subject,
        ttl_seconds=settings.webpush_ttl_seconds,
        timeout_seconds=settings.webpush_timeout_seconds,
        extra_ca_file=settings.extra_ca_file,
    )


async def send_due(runtime: Runtime, *, limit: int = BATCH) -> int:
    """Send what is due now, once; the number of messages attempted."""
    settings = runtime.settings
    lease = settings.webpush_timeout_seconds * 3 + 30
    vapid_keys.ensure_vapid_key(runtime)
    with runtime.platform() as session:
        claimed = claim_due(session, now=utcnow(), lease_seconds=lease, limit=limit)
    if not claimed:
        return 0
    with runtime.platform() as session:
        private_pem, _public = vapid_keys.private_key(session, runtime.secret_box)
        targets = {
            sub_id: PushTarget(row.endpoint, row.p256dh, row.auth)
            for sub_id, row in _targets(session, claimed).items()
        }
    policy = NetworkPolicy(parse_networks(settings.allowed_networks))
    options = _options(runtime)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def attempt(push: ClaimedPush) -> Attempt:
        async with gate:
            return await _send_one(
                push,
                targets.get(push.subscription_id),
                private_pem=private_pem,
                options=options,
                policy=policy,
            )

    attempts = await asyncio.gather(*(attempt(p) for p in claimed))
    deadline = timedelta(hours=settings.webpush_retry_deadline_hours)
    with runtime.platform() as session:
        record(session, list(attempts), now=utcnow(), deadline=deadline)
    return len(claimed)
