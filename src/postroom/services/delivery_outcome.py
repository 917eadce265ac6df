"""What one delivery attempt came to: per-recipient results and the message's next status."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from postroom.enums import AttemptOutcome, MessageStatus, RecipientStatus, SentCopyStatus
from postroom.mail.errors import MailError, MissingSecretError, ServerRefusedError
from postroom.mail.smtp_client import DeliveryInterruptedError, TransactionResult
from postroom.mail.smtp_status import Phase, ReplyClass, classify
from postroom.mail.smtp_wire import SmtpReply
from postroom.services.account_health import FailureKind
from postroom.services.outbox import ClaimedMessage, ClaimedRecipient, RetryPolicy

MAX_REPLY = 2000
ACCEPTED_CODES = (250, 251)


@dataclass(frozen=True)
class RecipientResult:
    recipient_id: int
    status: RecipientStatus
    code: int | None
    reply: str | None


@dataclass(frozen=True)
class HealthEvent:
    """For account health: the connection and login worked (kind None), or how they failed."""

    kind: FailureKind | None
    words: str = ""


@dataclass(frozen=True)
class Outcome:
    """Everything to write for one attempt, decided before the database is touched."""

    message: ClaimedMessage
    outcome: AttemptOutcome
    code: int | None
    reply: str | None
    recipients: tuple[RecipientResult, ...]
    status: MessageStatus
    next_attempt_at: datetime | None
    finished_at: datetime
    sent_copy: SentCopyStatus = SentCopyStatus.NOT_NEEDED
    health: HealthEvent | None = None

    @property
    def sent(self) -> bool:
        return self.status is MessageStatus.SENT


def _words(reply: SmtpReply | None) -> str | None:
    return str(reply)[:MAX_REPLY] if reply is not None else None


def _negative(reply: SmtpReply, phase: Phase) -> RecipientStatus:
    temporary = classify(reply.code, phase) is ReplyClass.TEMPORARY
    return RecipientStatus.DEFERRED if temporary else RecipientStatus.REFUSED


def _per_recipient(
    open_recipients: tuple[ClaimedRecipient, ...], result: TransactionResult
) -> tuple[list[RecipientResult], SmtpReply]:
    """Each recipient's result, and the reply that decides the attempt's headline."""
    if not result.mail.positive:  # the sender was refused: it concerns every recipient
        status = _negative(result.mail, Phase.MAIL)
        return [
            RecipientResult(r.id, status, result.mail.code, _words(result.mail))
            for r in open_recipients
        ], result.mail
    out: list[RecipientResult] = []
    waiting: list[ClaimedRecipient] = []
    first_refusal: SmtpReply | None = None
    for recipient, reply in zip(open_recipients, result.recipients, strict=True):
        if reply is not None and reply.code in ACCEPTED_CODES:
            waiting.append(recipient)
            continue
        reply = reply or result.mail
        first_refusal = first_refusal or reply
        out.append(
            RecipientResult(recipient.id, _negative(reply, Phase.RCPT), reply.code, _words(reply))
        )
    end = result.final or result.data
    if not waiting or end is None:  # every recipient was refused
        return out, first_refusal or result.mail
    if result.accepted:
        status = RecipientStatus.ACCEPTED
    else:
        status = _negative(end, Phase.MESSAGE if result.final else Phase.DATA)
    out += [RecipientResult(r.id, status, end.code, _words(end)) for r in waiting]
    return out, end


def _settle(
    message: ClaimedMessage,
    results: list[RecipientResult],
    now: datetime,
    policy: RetryPolicy,
) -> tuple[list[RecipientResult], MessageStatus, datetime | None]:
    """The message's status: retrying while a recipient is deferred and time is left."""
    deferred = any(r.status is RecipientStatus.DEFERRED for r in results)
    if deferred and now < message.deadline_at:
        return (
            results,
            MessageStatus.RETRYING,
            policy.next_attempt(message.attempt_count + 1, now, message.deadline_at),
        )
    if deferred:  # the deadline passed: the temporary failures become final (C3)
        results = [
            replace(r, status=RecipientStatus.REFUSED, reply=f"Gave up at the deadline: {r.reply}")
            if r.status is RecipientStatus.DEFERRED
            else r
            for r in results
        ]
    accepted_before = any(r.status is RecipientStatus.ACCEPTED for r in message.recipients)
    accepted_now = any(r.status is RecipientStatus.ACCEPTED for r in results)
    status = MessageStatus.SENT if accepted_before or accepted_now else MessageStatus.FAILED
    return results, status, None


def from_transaction(
    message: ClaimedMessage,
    result: TransactionResult,
    *,
    now: datetime,
    policy: RetryPolicy,
    sent_copy_needed: bool,
) -> Outcome:
    """The outcome of a transaction in which the server answered every command."""
    results, headline = _per_recipient(message.open_recipients, result)
    if result.accepted:
        outcome = AttemptOutcome.SENT
    elif any(r.status is RecipientStatus.DEFERRED for r in results):
        outcome = AttemptOutcome.TEMPORARY_FAILURE
    else:
        outcome = AttemptOutcome.PERMANENT_FAILURE
    results, status, next_at = _settle(message, results, now, policy)
    copy = SentCopyStatus.PENDING if sent_copy_needed else SentCopyStatus.NOT_NEEDED
    return Outcome(
        message=message,
        outcome=outcome,
        code=headline.code,
        reply=_words(headline),
        recipients=tuple(results),
        status=status,
        next_attempt_at=next_at,
        finished_at=now,
        sent_copy=copy if status is MessageStatus.SENT else SentCopyStatus.NOT_NEEDED,
        health=HealthEvent(None),
    )


def _error_words(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, DeliveryInterruptedError) and exc.after_data:
        text += " The whole message had been sent, so the server may have accepted it."
    return text[:MAX_REPLY]


def health_of(exc: BaseException, *, connecting: bool) -> HealthEvent | None:
    """An account failure for errors of the connection or login; none for the others."""
    words = _error_words(exc)
    if isinstance(exc, MissingSecretError) or (
        isinstance(exc, ServerRefusedError) and exc.command.upper().startswith("AUTH")
    ):
        return HealthEvent(FailureKind.AUTH, words)
    if connecting or isinstance(exc, MailError | OSError | TimeoutError):
        return HealthEvent(FailureKind.CONNECTION, words)
    return None


def from_error(
    message: ClaimedMessage,
    exc: BaseException,
    *,
    now: datetime,
    policy: RetryPolicy,
    connecting: bool = False,
) -> Outcome:
    """No answer to decide by (no connection, login refused, connection lost): a temporary
    failure for every open recipient, retried until the deadline."""
    words = _error_words(exc)
    code = exc.reply_code if isinstance(exc, ServerRefusedError) else None
    results = [
        RecipientResult(r.id, RecipientStatus.DEFERRED, code, words)
        for r in message.open_recipients
    ]
    results, status, next_at = _settle(message, results, now, policy)
    network = not isinstance(exc, ServerRefusedError)
    return Outcome(
        message=message,
        outcome=AttemptOutcome.NETWORK_ERROR if network else AttemptOutcome.TEMPORARY_FAILURE,
        code=code,
        reply=words,
        recipients=tuple(results),
        status=status,
        next_attempt_at=next_at,
        finished_at=now,
        health=health_of(exc, connecting=connecting),
    )


def permanent(message: ClaimedMessage, words: str, *, now: datetime) -> Outcome:
    """A failure no retry can fix (the sending account was deleted)."""
    results = tuple(
        RecipientResult(r.id, RecipientStatus.REFUSED, None, words) for r in message.open_recipients
    )
    return Outcome(
        message=message,
        outcome=AttemptOutcome.PERMANENT_FAILURE,
        code=None,
        reply=words,
        recipients=results,
        status=MessageStatus.FAILED,
        next_attempt_at=None,
        finished_at=now,
    )
