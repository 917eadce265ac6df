"""Handing a batch of rendered campaign messages to the outbox, each row's outcome apart."""

# Every message goes through the messages service like any other (sender rules, relay limits
# and identity, MIME building, the idempotency key): a campaign gets no way around them. The
# batch goes in with message_batch.submit_messages (the rules' reads made once, one flush);
# that is all or nothing, so when the rules refuse an item (the relay's document limit, a file
# deleted since the check) the batch is rolled back to its savepoint and its messages are
# queued one by one instead: the refused rows fail alone, with the reason, the others go.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.errors import PostroomError, SendingRefusedError, ValidationError
from postroom.services import message_batch, messages, routing
from postroom.services.campaign_checks import problem
from postroom.services.campaign_message import PreparedMessage
from postroom.services.message_schemas import MAX_BATCH
from postroom.services.runtime import Runtime


@dataclass(frozen=True)
class Queued:
    recipient_id: int
    message_id: int | None  # None: refused, see `problems`
    problems: list[dict[str, Any]]


def _refusal(exc: PostroomError) -> list[dict[str, Any]]:
    if isinstance(exc, SendingRefusedError):
        return [problem("sender", exc.message, exc.code)]
    if not isinstance(exc, ValidationError) or not exc.problems:
        return [problem("message", exc.message, exc.code)]
    return [problem(p.field, p.message, p.code) for p in exc.problems]


def _one(
    session: Session,
    actor: User,
    item: PreparedMessage,
    runtime: Runtime,
    senders: routing.SenderCache,
) -> Queued:
    try:
        with session.begin_nested():
            row = messages.submit_message(
                session,
                actor=actor,
                request=item.request,
                runtime=runtime,
                extra_headers=item.headers,
                senders=senders,
            )
    except PostroomError as exc:  # a rule's refusal, a file gone, a key of another user
        return Queued(item.recipient_id, None, _refusal(exc))
    return Queued(item.recipient_id, row.id, [])


def _together(
    session: Session, actor: User, items: Sequence[PreparedMessage], runtime: Runtime
) -> list[Queued] | None:
    """All of `items` in one go, or None (nothing of them kept) when an item was refused."""
    try:
        with session.begin_nested():
            rows = message_batch.submit_messages(
                session,
                actor=actor,
                requests=[item.request for item in items],
                runtime=runtime,
                extra_headers=[item.headers for item in items],
            )
    except PostroomError:
        return None
    return [Queued(item.recipient_id, row.id, []) for item, row in zip(items, rows, strict=True)]


def enqueue(
    session: Session, *, actor: User, items: Sequence[PreparedMessage], runtime: Runtime
) -> list[Queued]:
    """Queue each prepared message in the caller's transaction; one outcome per item."""
    outcomes: list[Queued] = []
    for start in range(0, len(items), MAX_BATCH):
        part = items[start : start + MAX_BATCH]
        together = _together(session, actor, part, runtime)
        if together is None:
            senders = routing.SenderCache()  # a fresh one: the failed batch was rolled back
            together = [_one(session, actor, item, runtime, senders) for item in part]
        outcomes += together
    return outcomes
