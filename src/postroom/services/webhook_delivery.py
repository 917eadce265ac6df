"""Delivering queued webhook events: claim under a lease, POST signed JSON, retry with backoff.

Each delivery is POSTed as JSON `{"id", "event", "created_at", "data"}` with
`X-Postroom-Signature: sha256=<hex HMAC-SHA256 of the body with the endpoint's secret>`.
A 2xx answer delivers it; anything else (another status, a refused address, a network error)
is retried with exponential backoff until `webhook_retry_deadline_hours` after the event,
then it is FAILED with the last error. Deliveries are at least once: the `id` (also in
`X-Postroom-Delivery`) lets the receiver drop a repeat.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models_crm import WebhookDelivery, WebhookEndpoint
from postroom.enums import JobStatus
from postroom.errors import PostroomError
from postroom.mail.netguard import NetworkPolicy, parse_networks
from postroom.services.outbox import RetryPolicy
from postroom.services.runtime import Runtime

log = logging.getLogger("postroom.webhooks")
DELIVERIES = cast(Table, WebhookDelivery.__table__)
D = DELIVERIES.c
BATCH = 100
CONCURRENCY = 8
_ERROR_CHARS = 500
_EXCERPT_BYTES = 1024  # of an error answer's body, for last_error
POLICY = RetryPolicy(base_seconds=30.0, max_seconds=3600.0)


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    company_id: int
    endpoint_id: int
    event: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    url: str = ""
    secret_encrypted: str = ""


@dataclass(frozen=True)
class DeliveryResult:
    delivery: ClaimedDelivery
    ok: bool
    error: str | None = None


def body_of(delivery: ClaimedDelivery) -> bytes:
    """The exact bytes signed and sent; the same on every retry."""
    document = {
        "id": delivery.id,
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def claim_due(
    session: Session, *, now: datetime, lease_seconds: float, limit: int = BATCH
) -> list[ClaimedDelivery]:
    """Lease due deliveries of every company (platform session); the caller commits at once.

    As in the outbox (services/outbox.py): one UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
    LOCKED) … RETURNING, so concurrent workers never claim one delivery twice. A RUNNING
    delivery whose lease (next_attempt_at) has passed belonged to a worker that died.
    """
    due = (
        select(D.id)
        .where(
            or_(D.status == JobStatus.PENDING, D.status == JobStatus.RUNNING),
            D.next_attempt_at <= now,
        )
        .order_by(D.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(DELIVERIES)
        .where(D.id.in_(due.scalar_subquery()))
        .values(status=JobStatus.RUNNING, next_attempt_at=now + timedelta(seconds=lease_seconds))
        .returning(D.id, D.company_id, D.endpoint_id, D.event, D.payload, D.attempts, D.created_at)
    )
    rows = session.connection().execute(claim).all()
    endpoints = {
        e.id: e
        for e in session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id.in_({r.endpoint_id for r in rows}))
        )
    }
    claimed = []
    for row in rows:
        endpoint = endpoints.get(row.endpoint_id)
        claimed.append(
            ClaimedDelivery(
                id=row.id,
                company_id=row.company_id,
                endpoint_id=row.endpoint_id,
                event=row.event,
                payload=row.payload,
                attempts=row.attempts,
                created_at=row.created_at,
                url=endpoint.url if endpoint is not None and endpoint.active else "",
                secret_encrypted=endpoint.secret_encrypted if endpoint is not None else "",
            )
        )
    return claimed


@lru_cache(maxsize=4)
def _ssl_context(extra_ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if extra_ca_file is not None:
        context.load_verify_locations(cafile=str(extra_ca_file))
    return context


async def _post_to(
    client: httpx.AsyncClient, url: str, address: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    """POST to `address` (checked by the network policy) while TLS and Host name the URL's
    host, so no second DNS lookup can send the request elsewhere (DNS rebinding). Answers the
    status and the start of the response body (a huge body is not read)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = f"[{address}]" if ":" in address else address
    target = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    async with client.stream(
        "POST",
        target,
        content=body,
        headers={**headers, "Host": host_header},
        extensions={"sni_hostname": host},
    ) as response:
        start = bytearray()
        async for chunk in response.aiter_bytes():
            start += chunk
            if len(start) >= _EXCERPT_BYTES:
                break
        return response.status_code, bytes(start[:_EXCERPT_BYTES])


async def _post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], policy: NetworkPolicy
) -> tuple[int, bytes]:
    """Try each permitted address of the host in DNS order until one connects."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await policy.resolve(parts.hostname or "", port)
    for address in addresses[:-1]:
        try:
            return await _post_to(client, url, address, body, headers)
        except httpx.ConnectError:
            continue
    return await _post_to(client, url, addresses[-1], body, headers)


async def send_one(
    delivery: ClaimedDelivery, *, secret: str, policy: NetworkPolicy, client: httpx.AsyncClient
) -> DeliveryResult:
    """One attempt; never raises for a failure of the endpoint (it becomes the result)."""
    if not delivery.url:
        return DeliveryResult(delivery, False, "The webhook was turned off or deleted.")
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Postroom-Webhooks",
        "X-Postroom-Event": delivery.event,
        "X-Postroom-Delivery": str(delivery.id),
        "X-Postroom-Signature": signature(secret, body),
    }
    try:
        status, start = await _post(client, delivery.url, body, headers, policy)
    except PostroomError as exc:  # the host is internal or unknown
        return DeliveryResult(delivery, False, exc.message)
    except httpx.HTTPError as exc:
        return DeliveryResult(delivery, False, f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS])
    if 200 <= status < 300:
        return DeliveryResult(delivery, True)
    excerpt = " ".join(start.decode("utf-8", "replace").split())[:200]
    return DeliveryResult(delivery, False, f"HTTP {status}: {excerpt}".strip())


def record(
    session: Session, results: list[DeliveryResult], *, now: datetime, deadline: timedelta
) -> None:
    """Write each outcome, if the claim is still ours (same attempt count, still RUNNING)."""
    for result in results:
        delivery = result.delivery
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_error": result.error}
        if result.ok:
            values |= {"status": JobStatus.DONE, "delivered_at": now}
        elif now >= delivery.created_at + deadline or not delivery.url:
            values |= {"status": JobStatus.FAILED}
        else:
            retry_at = POLICY.next_attempt(attempts, now, delivery.created_at + deadline)
            values |= {"status": JobStatus.PENDING, "next_attempt_at": retry_at}
        session.connection().execute(
            update(DELIVERIES)
            .where(
                and_(
                    D.id == delivery.id,
                    D.status == JobStatus.RUNNING,
                    D.attempts == delivery.attempts,
                )
            )
            .values(**values)
        )
        if not result.ok:
            log.info(
                "webhook delivery failed",
                extra={"delivery_id": delivery.id, "attempt": attempts, "error": result.error},
            )


async def deliver_due(runtime: Runtime, *, limit: int = BATCH) -> int:
    """Deliver what is due now, once; the number of deliveries attempted."""
    settings = runtime.settings
    timeout = settings.webhook_timeout_seconds
    with runtime.platform() as session:
        claimed = claim_due(session, now=utcnow(), lease_seconds=timeout * 3 + 30, limit=limit)
    if not claimed:
        return 0
    policy = NetworkPolicy(parse_networks(settings.allowed_networks))
    gate = asyncio.Semaphore(CONCURRENCY)

    async def attempt(delivery: ClaimedDelivery, client: httpx.AsyncClient) -> DeliveryResult:
        secret = ""
        if delivery.url:  # else send_one records that the endpoint is gone
            try:
                secret = runtime.secret_box.decrypt(delivery.secret_encrypted).reveal()
            except PostroomError as exc:  # no key of the key ring opens it
                return DeliveryResult(delivery, False, exc.message)
        async with gate:
            return await send_one(delivery, secret=secret, policy=policy, client=client)

    async with httpx.AsyncClient(
        verify=_ssl_context(settings.extra_ca_file),
        timeout=timeout,
        follow_redirects=False,  # a redirect could lead to an address the policy refuses
        trust_env=False,  # a proxy would undo the address check
    ) as client:
        results = await asyncio.gather(*(attempt(d, client) for d in claimed))
    deadline = timedelta(hours=settings.webhook_retry_deadline_hours)
    with runtime.platform() as session:
        record(session, list(results), now=utcnow(), deadline=deadline)
    return len(claimed)
