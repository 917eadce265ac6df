"""The autoresponder (A9): whom it answers, following RFC 3834, and once per sender per period.

Never answered (RFC 3834 §2, §3.1.1): messages with Auto-Submitted other than "no", with
Precedence bulk/list/junk or any List-* header; senders that are the company's own addresses
or machines (mailer-daemon, postmaster, noreply…); messages without a usable sender address or
with a null Return-Path (<>, a bounce); messages that do not name the account's address in
To or Cc (a Bcc, a mailing list, a forward); a sender answered within the period (the setting
autoresponder_period_days, 4 days by default) and since the autoresponder's start date.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models import Account, Company
from postroom.db.models_mailbox import AutoreplySent
from postroom.db.models_outbox import OutboxMessage
from postroom.enums import EmailMode
from postroom.errors import ValidationError
from postroom.services.arrivals import Arrival
from postroom.services.autoreply_message import build_autoreply, enqueue_autoreply
from postroom.services.mail_senders import bare_address, is_machine_address
from postroom.services.runtime import Runtime

log = logging.getLogger("postroom.autoresponder")
_BULK = frozenset({"bulk", "list", "junk"})


class Verdict(StrEnum):
    """Why a message is answered or not; each refusal is one rule of RFC 3834."""

    ANSWER = "answer"
    AUTO_SUBMITTED = "auto_submitted"
    BULK = "bulk"
    MAILING_LIST = "mailing_list"
    NO_SENDER = "no_sender"
    NULL_RETURN_PATH = "null_return_path"
    OWN_ADDRESS = "own_address"
    MACHINE_SENDER = "machine_sender"
    NOT_ADDRESSED = "not_addressed"
    ALREADY_ANSWERED = "already_answered"


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    recipient: str | None = None  # whom the answer goes to, for ANSWER


def is_on(account: Account, today: date) -> bool:
    """Enabled, something to say, and today within [from, until] (either end may be open)."""
    if not account.autoresponder_enabled or not account.autoresponder_text.strip():
        return False
    start, end = account.autoresponder_from, account.autoresponder_until
    return (start is None or start <= today) and (end is None or today <= end)


def account_addresses(account: Account) -> frozenset[str]:
    """The addresses mail to this account is addressed to: its own, and logins that are ones."""
    found = {account.email_address, account.smtp_username, account.incoming_username}
    return frozenset(a.strip().lower() for a in found if a and "@" in a)


def _reply_address(arrival: Arrival) -> str | None:
    """RFC 3834 §4: the Return-Path (the envelope sender) when the server recorded one, else
    From. "" for a null Return-Path."""
    return_path = arrival.header("Return-Path")
    if return_path:
        inside = return_path.strip().removeprefix("<").removesuffix(">").strip()
        return bare_address(inside) if inside else ""
    return bare_address(arrival.message.from_address)


def _addressed(arrival: Arrival, ours: frozenset[str]) -> bool:
    listed = [
        e.get("address", "") for e in (*arrival.message.to_addresses, *arrival.message.cc_addresses)
    ]
    for name in ("Resent-To", "Resent-Cc"):
        listed += [address for _, address in email.utils.getaddresses([arrival.header(name)])]
    return any(address.strip().lower() in ours for address in listed)


def _header_verdict(arrival: Arrival) -> Verdict | None:
    if arrival.header("Auto-Submitted").split(";")[0].strip().lower() not in ("", "no"):
        return Verdict.AUTO_SUBMITTED
    if arrival.header("Precedence").lower() in _BULK:
        return Verdict.BULK
    if arrival.has_header_prefix("list-"):
        return Verdict.MAILING_LIST
    return None


def judge(arrival: Arrival, *, ours: frozenset[str], own: frozenset[str]) -> Judgement:
    """Whether one message gets an answer, by its headers alone (`ours`: the account's
    addresses; `own`: every address of the company)."""
    if (verdict := _header_verdict(arrival)) is not None:
        return Judgement(verdict)
    recipient = _reply_address(arrival)
    if recipient == "":
        return Judgement(Verdict.NULL_RETURN_PATH)
    sender = bare_address(arrival.message.from_address)
    if recipient is None or sender is None:
        return Judgement(Verdict.NO_SENDER)
    if recipient in own or sender in own:
        return Judgement(Verdict.OWN_ADDRESS)
    if is_machine_address(recipient) or is_machine_address(sender):
        return Judgement(Verdict.MACHINE_SENDER)
    if not _addressed(arrival, ours):
        return Judgement(Verdict.NOT_ADDRESSED)
    return Judgement(Verdict.ANSWER, recipient)


def _previous(session: Session, account: Account, sender: str) -> AutoreplySent | None:
    return session.scalar(
        select(AutoreplySent).where(
            AutoreplySent.account_id == account.id, AutoreplySent.sender == sender
        )
    )


def _answered_recently(
    previous: AutoreplySent | None, started_at: datetime | None, now: datetime, period: timedelta
) -> bool:
    """Answered within the period, and since the autoresponder's start (a new absence answers
    everyone anew)."""
    if previous is None:
        return False
    since_start = started_at is None or previous.replied_at >= started_at
    return since_start and now - previous.replied_at < period


def _record(
    session: Session, account: Account, sender: str, previous: AutoreplySent | None, now: datetime
) -> None:
    if previous is None:
        session.add(
            AutoreplySent(
                company_id=account.company_id, account_id=account.id, sender=sender, replied_at=now
            )
        )
    else:
        previous.replied_at = now
    session.flush()


def answer_new_mail(
    runtime: Runtime,
    session: Session,
    *,
    account: Account,
    arrivals: Sequence[Arrival],
    own: frozenset[str],
    now: datetime | None = None,
) -> list[OutboxMessage]:
    """Queue one answer per sender not answered within the period; the caller commits."""
    settings = runtime.settings
    now = now or datetime.now(UTC)
    zone = ZoneInfo(settings.local_timezone)
    if not is_on(account, now.astimezone(zone).date()):
        return []
    company = session.get(Company, account.company_id)
    if company is None or company.email_mode is EmailMode.OFF or not account.smtp_host:
        return []  # B6: a company that has not turned e-mail on sends nothing, not even this
    period = timedelta(days=settings.autoresponder_period_days)
    start = account.autoresponder_from
    started_at = datetime.combine(start, time(), zone) if start is not None else None
    ours = account_addresses(account)
    queued = []
    for arrival in arrivals:
        judgement = judge(arrival, ours=ours, own=own) if arrival.arrived else None
        if judgement is None or judgement.recipient is None:
            continue
        previous = _previous(session, account, judgement.recipient)
        if _answered_recently(previous, started_at, now, period):
            continue
        try:
            built = build_autoreply(runtime, account, arrival, judgement.recipient)
        except ValidationError as exc:
            log.info("no autoreply: %s", exc.message, extra={"account_id": account.id})
            continue
        queued.append(enqueue_autoreply(session, runtime, account, built, now=now))
        _record(session, account, judgement.recipient, previous, now)
    return queued
