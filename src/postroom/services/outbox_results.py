"""Writing attempts' outcomes: attempt rows, recipient results, message status, account health."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.enums import MessageStatus
from postroom.services.account_health import record_failure, record_success
from postroom.services.delivery_outcome import Outcome
from postroom.services.outbox_tables import ACCOUNTS, ATTEMPTS, MESSAGES, RECIPIENTS

M = MESSAGES.c
R = RECIPIENTS.c
A = ACCOUNTS.c
# An account that keeps sending fine is marked healthy at most this often (one row write).
HEALTH_REFRESH = timedelta(seconds=60)


def _message_update(company_id: int, *, guarded: bool, retrying: bool) -> Any:
    where = [M.id == bindparam("m_id"), M.company_id == company_id]
    if guarded:
        # A failure is only ours to write while we hold the lease; if it expired and another
        # worker took the message over, that worker's result stands.
        where.append(M.lease_owner == bindparam("m_owner"))
    values: dict[str, Any] = {
        "status": bindparam("m_status"),
        "attempt_count": M.attempt_count + 1,
        "last_code": bindparam("m_code"),
        "last_reply": bindparam("m_reply"),
        "lease_owner": None,
        "lease_expires_at": None,
    }
    if retrying:
        values["next_attempt_at"] = bindparam("m_next")
    else:
        values |= {"sent_at": bindparam("m_sent_at"), "sent_copy_status": bindparam("m_copy")}
    return update(MESSAGES).where(*where).values(**values)


def _message_params(outcome: Outcome, worker_id: str) -> dict[str, Any]:
    params: dict[str, Any] = {
        "m_id": outcome.message.id,
        "m_owner": worker_id,
        "m_status": outcome.status,
        "m_code": outcome.code,
        "m_reply": outcome.reply,
    }
    if outcome.status is MessageStatus.RETRYING:
        params["m_next"] = outcome.next_attempt_at
    else:
        params["m_sent_at"] = outcome.finished_at if outcome.sent else None
        params["m_copy"] = outcome.sent_copy
    return params


def write_outcomes(
    session: Session, company_id: int, outcomes: Sequence[Outcome], *, worker_id: str
) -> None:
    """Record the outcomes of one company's messages (a session scoped to that company).

    Core statements with explicit company filters, each run once for the whole batch.
    """
    conn = session.connection()
    now = utcnow()
    conn.execute(
        insert(ATTEMPTS),
        [
            {
                "company_id": company_id,
                "message_id": o.message.id,
                "worker": worker_id,
                "started_at": o.message.claimed_at,
                "finished_at": o.finished_at,
                "outcome": o.outcome,
                "code": o.code,
                "reply": o.reply,
            }
            for o in outcomes
        ],
    )
    recipients = [
        {"r_id": r.recipient_id, "r_status": r.status, "r_code": r.code, "r_reply": r.reply}
        for o in outcomes
        for r in o.recipients
    ]
    if recipients:
        statement = (
            update(RECIPIENTS)
            .where(R.id == bindparam("r_id"), R.company_id == company_id)
            .values(
                status=bindparam("r_status"),
                code=bindparam("r_code"),
                reply=bindparam("r_reply"),
                updated_at=now,
            )
        )
        conn.execute(statement, recipients)
    groups: dict[tuple[bool, bool], list[dict[str, Any]]] = {}
    for o in outcomes:
        retrying = o.status is MessageStatus.RETRYING
        groups.setdefault((not o.sent, retrying), []).append(_message_params(o, worker_id))
    for (guarded, retrying), params in groups.items():
        conn.execute(_message_update(company_id, guarded=guarded, retrying=retrying), params)


def update_health(
    session: Session, outcomes: Sequence[Outcome], *, auth_failure_limit: int
) -> None:
    """Account health from the connections: the last event per account counts."""
    last: dict[int, Outcome] = {}
    for o in outcomes:
        if o.health is not None and o.message.account_id is not None:
            last[o.message.account_id] = o
    now = utcnow()
    for account_id, outcome in last.items():
        health = outcome.health
        if health is None or (health.kind is None and not _needs_refresh(session, account_id, now)):
            continue  # healthy and recently marked so: no row to load or write
        account = session.get(Account, account_id)
        if account is None:
            continue
        if health.kind is not None:
            record_failure(
                account,
                kind=health.kind,
                server_words=health.words,
                auth_failure_limit=auth_failure_limit,
                now=now,
            )
        elif _stale(account, now):
            record_success(account, now=now)


def _needs_refresh(session: Session, account_id: int, now: datetime) -> bool:
    query = select(A.consecutive_failures, A.needs_attention, A.last_success_at).where(
        A.id == account_id
    )
    row = session.connection().execute(query).first()
    if row is None:
        return False
    failures, attention, last = row
    return bool(failures or attention or last is None or now - last > HEALTH_REFRESH)


def _stale(account: Account, now: datetime) -> bool:
    if account.consecutive_failures or account.needs_attention or account.last_success_at is None:
        return True
    return now - account.last_success_at > HEALTH_REFRESH
