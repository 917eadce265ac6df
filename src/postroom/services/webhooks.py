"""Webhooks: where a host application hears about new records; events queued with the data.

An event is written as one WebhookDelivery per subscribed endpoint in the transaction that made
the record, so a record is never announced unless it is committed, and never committed without
its announcement (delivery: services/webhook_delivery.py, by the worker).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import User
from postroom.db.models_crm import WebhookDelivery, WebhookEndpoint
from postroom.enums import JobStatus
from postroom.errors import ValidationError
from postroom.secrets import Secret, SecretBox
from postroom.services.guards import get_or_404, require_admin

_SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, so a leaked secret is recognisable)
MAX_URL = 2000


class WebhookEvent(StrEnum):
    CONTACT_CREATED = "contact.created"
    CLIENT_CREATED = "client.created"
    TASK_CREATED = "task.created"


def _check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    problem = None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        problem = "The URL must start with https:// (or http://) and name a host."
    elif parts.username is not None or parts.password is not None:
        # Credentials in the URL would be shown back in every listing: the signature is the
        # endpoint's proof that a call comes from Postroom.
        problem = "The URL may not hold a user name or password; verify the signature instead."
    elif any(ch.isspace() or ord(ch) < 32 for ch in url) or len(url) > MAX_URL:
        problem = (
            f"The URL may not hold spaces or control characters (at most {MAX_URL} characters)."
        )
    if problem is not None:
        raise ValidationError.for_field("url", problem, "invalid_url")
    return url


def create_endpoint(
    session: Session, *, actor: User, secret_box: SecretBox, url: str, events: list[WebhookEvent]
) -> tuple[WebhookEndpoint, str]:
    """The endpoint and its signing secret in plain text: the only time it is ever shown."""
    require_admin(actor, "manage webhooks")
    secret = _SECRET_PREFIX + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        url=_check_url(url),
        events=sorted({event.value for event in events}),
        secret_encrypted=secret_box.encrypt(Secret(secret)),
        active=True,
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def list_endpoints(
    session: Session, *, actor: User, limit: int = 100, offset: int = 0
) -> tuple[list[WebhookEndpoint], int]:
    require_admin(actor, "manage webhooks")
    total = session.scalar(select(func.count()).select_from(WebhookEndpoint)) or 0
    rows = session.scalars(
        select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def get_endpoint(session: Session, *, actor: User, endpoint_id: int) -> WebhookEndpoint:
    require_admin(actor, "manage webhooks")
    return get_or_404(session, WebhookEndpoint, endpoint_id, "Webhook")


def delete_endpoint(session: Session, *, actor: User, endpoint_id: int) -> None:
    """Deleting an endpoint drops its deliveries not yet made (the foreign key cascades)."""
    session.delete(get_endpoint(session, actor=actor, endpoint_id=endpoint_id))


def delivery_counts(session: Session, endpoint_id: int) -> dict[str, int]:
    rows = session.execute(
        select(WebhookDelivery.status, func.count())
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .group_by(WebhookDelivery.status)
    )
    return {row[0].value: int(row[1]) for row in rows}


def emit(session: Session, event: WebhookEvent, data: dict[str, Any]) -> int:
    """Queue `event` for every active endpoint of the session's company that wants it."""
    endpoints = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)))
    now = utcnow()
    wanted = [e for e in endpoints if not e.events or event.value in e.events]
    for endpoint in wanted:
        session.add(
            WebhookDelivery(
                company_id=endpoint.company_id,
                endpoint_id=endpoint.id,
                event=event.value,
                payload=data,
                status=JobStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return len(wanted)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def reencrypt_secrets(session: Session, secret_box: SecretBox) -> int:
    """Rotate every endpoint's secret to the newest key (for `postroom secrets rotate`)."""
    rotated = 0
    for endpoint in session.scalars(select(WebhookEndpoint)):
        endpoint.secret_encrypted = secret_box.rotate(endpoint.secret_encrypted)
        rotated += 1
    return rotated
