"""Handing a batch of rendered campaign messages to the outbox, each row's outcome apart."""

# Every message goes through the messages service like any other (sender rules, relay limits
# and identity, MIME building, the idempotency key): a campaign gets no way around them. A row
# the rules refuse (the relay's document limit, a file deleted since the check) fails alone,
# with the reason; the others of the batch are queued.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.errors import SendingRefusedError, ValidationError
from postroom.services import messages
from postroom.services.campaign_checks import problem
from postroom.services.campaign_message import PreparedMessage
from postroom.services.runtime import Runtime


@dataclass(frozen=True)
class Queued:
    recipient_id: int
    message_id: int | None  # None: refused, see `problems`
    problems: list[dict[str, Any]]


def _refusal(exc: ValidationError | SendingRefusedError) -> list[dict[str, Any]]:
    if isinstance(exc, SendingRefusedError):
        return [problem("sender", exc.message, exc.code)]
    if not exc.problems:
        return [problem("message", exc.message, exc.code)]
    return [problem(p.field, p.message, p.code) for p in exc.problems]


def _one(session: Session, actor: User, item: PreparedMessage, runtime: Runtime) -> Queued:
    try:
        with session.begin_nested():
            row = messages.submit_message(
                session,
                actor=actor,
                request=item.request,
                runtime=runtime,
                extra_headers=item.headers,
            )
    except (ValidationError, SendingRefusedError) as exc:
        return Queued(item.recipient_id, None, _refusal(exc))
    return Queued(item.recipient_id, row.id, [])


def enqueue(
    session: Session, *, actor: User, items: Sequence[PreparedMessage], runtime: Runtime
) -> list[Queued]:
    """Queue each prepared message in the caller's transaction; one outcome per item."""
    return [_one(session, actor, item, runtime) for item in items]
