"""Submitting many messages at once: all of them queued in one transaction, or none."""

# Each item goes through submit_message like a single send (sender rules, relay limits, MIME
# building, idempotency), so a batch gets no way around any rule. What a batch saves is what
# the items share: one authentication, one transaction and one commit, and the sender rules'
# reads (company, groups, accounts, projects) made once for all items (routing.SenderCache).

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.db.models_outbox import OutboxMessage
from postroom.errors import FieldProblem, PostroomError, SendingRefusedError, ValidationError
from postroom.services import messages, routing
from postroom.services.message_schemas import MAX_BATCH, MessageCreate
from postroom.services.runtime import Runtime


def item_field(index: int, field: str) -> str:
    """`items[3].to[2]`: a field of one item, as the batch's errors name it."""
    return f"items[{index}].{field}" if field else f"items[{index}]"


def _prefixed(index: int, exc: ValidationError) -> list[FieldProblem]:
    if not exc.problems:
        return [FieldProblem(item_field(index, ""), exc.message, exc.code)]
    return [
        FieldProblem(
            item_field(index, p.field),
            p.message.replace(p.field, item_field(index, p.field)) if p.field else p.message,
            p.code,
        )
        for p in exc.problems
    ]


def _refused(index: int, exc: PostroomError) -> PostroomError:
    """The same refusal (same class, same code), saying which item it concerns."""
    words = f"Message items[{index}]: {exc.message}"
    if isinstance(exc, SendingRefusedError):
        return SendingRefusedError(exc.reason, words)
    try:
        return type(exc)(words, code=exc.code)
    except TypeError:  # an error class that takes more than words: as it is
        return exc


def submit_messages(
    session: Session,
    *,
    actor: User,
    requests: Sequence[MessageCreate],
    runtime: Runtime,
    extra_headers: Sequence[Sequence[tuple[str, str]]] = (),
) -> list[OutboxMessage]:
    """Queue every request in `session`'s transaction, in order; one row per request (an
    idempotency key used before gives back the message made with it).

    All or nothing: every item is checked, and the problems of all of them come back together
    in one ValidationError naming `items[i].field`; a refusal (SendingRefusedError, a key of
    another user) stops at the first and names its item. Either way the caller rolls back.
    `extra_headers[i]`: header fields added to item i (a campaign's List-Unsubscribe).
    """
    if len(requests) > MAX_BATCH:
        raise ValidationError.for_field(
            "items", f"Send at most {MAX_BATCH} messages in one batch.", "too_many"
        )
    try:
        with session.begin_nested():
            return _submit_all(session, actor, requests, runtime, extra_headers, batched=True)
    except IntegrityError:
        # Another transaction took one of the keys since the lookup: item by item, where each
        # key's conflict is caught on its own and answered with the message made with it.
        return _submit_all(session, actor, requests, runtime, extra_headers, batched=False)


def _keys(requests: Sequence[MessageCreate]) -> list[str]:
    return [r.idempotency_key for r in requests if r.idempotency_key is not None]


def _submit_all(
    session: Session,
    actor: User,
    requests: Sequence[MessageCreate],
    runtime: Runtime,
    extra_headers: Sequence[Sequence[tuple[str, str]]],
    *,
    batched: bool,
) -> list[OutboxMessage]:
    senders = routing.SenderCache()
    # One query for every key of the batch instead of a lookup and a savepoint per message.
    batch_keys = messages.messages_by_key(session, _keys(requests)) if batched else None
    rows: list[OutboxMessage] = []
    problems: list[FieldProblem] = []
    for index, request in enumerate(requests):
        try:
            rows.append(
                messages.submit_message(
                    session,
                    actor=actor,
                    request=request,
                    runtime=runtime,
                    senders=senders,
                    flush=False,  # one flush for all: the ORM inserts them many rows at a time
                    extra_headers=extra_headers[index] if extra_headers else (),
                    batch_keys=batch_keys,
                )
            )
        except ValidationError as exc:
            problems += _prefixed(index, exc)
        except PostroomError as exc:  # a refusal, a key of another user: the first one ends it
            raise _refused(index, exc) from exc
    if problems:
        summary = " ".join(p.message for p in problems[:5])
        raise ValidationError(f"No message of the batch was queued: {summary}", problems)
    session.flush()
    return rows
