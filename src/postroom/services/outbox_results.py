"""Writing attempts' outcomes: attempt rows, recipient results, message status, account health."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Dialect, select
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.enums import MessageStatus
from postroom.services.account_health import record_failure, record_success
from postroom.services.delivery_outcome import HealthEvent, Outcome
from postroom.services.outbox_tables import ACCOUNTS, MESSAGES

A = ACCOUNTS.c
# An account that keeps sending fine is marked healthy at most this often (one row write).
HEALTH_REFRESH = timedelta(seconds=60)
# How long this process trusts its own last look at a healthy account before looking again.
HEALTH_MEMO = timedelta(seconds=5)


# The recorder writes every result of the worker, so these statements are its hot path. Each
# table gets one statement per group, its rows passed as one JSON document that the database
# unpacks itself (SQLite's json_each, PostgreSQL's json_to_recordset): no statement per row,
# no SQLAlchemy parameter processing per row, and, in SQLite, one step in C for the whole
# group instead of a GIL hand-over per row. Every statement names the company (E3).
# SQLite needs UPDATE … FROM (3.33) and the JSON functions (built in since 3.38).

_SQLITE_ROWS = "(SELECT {columns} FROM json_each(?1))"
# The rows to change are found by primary key from the ids in the JSON (IN …, = ANY): without
# that, both planners would rather scan the company's rows and look each up in the JSON. The
# company is checked on each row found, in a form no planner takes for an index to scan by
# (SQLite: `+company_id`; PostgreSQL: compared with a column of the JSON rows).
_SQLITE_KEYS = "(SELECT json_extract(value, '$.id') FROM json_each(?1))"
_SQLITE = {
    "attempt": (
        "INSERT INTO delivery_attempts"
        " (company_id, message_id, worker, started_at, finished_at, outcome, code, reply)"
        " SELECT ?2, v.message_id, ?3, v.started_at, v.finished_at, v.outcome, v.code, v.reply"
        " FROM {attempts} AS v"
    ),
    "recipient": (
        "UPDATE outbox_recipients SET status = v.status, code = v.code, reply = v.reply,"
        " updated_at = ?3 FROM {recipients} AS v"
        " WHERE outbox_recipients.id IN {keys} AND outbox_recipients.id = v.id"
        " AND +outbox_recipients.company_id = ?2"
    ),
    "message": (
        "UPDATE outbox_messages SET status = v.status,"
        " attempt_count = outbox_messages.attempt_count + 1, last_code = v.code,"
        " last_reply = v.reply, lease_owner = NULL, lease_expires_at = NULL,"
        " next_attempt_at = CASE WHEN v.retrying THEN v.next_at"
        " ELSE outbox_messages.next_attempt_at END,"
        " sent_at = CASE WHEN v.retrying THEN outbox_messages.sent_at ELSE v.done_at END,"
        " sent_copy_status = CASE WHEN v.retrying THEN outbox_messages.sent_copy_status"
        " ELSE v.copy END"
        " FROM {messages} AS v"
        " WHERE outbox_messages.id IN {keys} AND outbox_messages.id = v.id"
        " AND +outbox_messages.company_id = ?2"
        # A failure is only ours to write while we hold the lease; if it expired and another
        # worker took the message over, that worker's result stands. A delivery is written
        # in any case.
        " AND (NOT v.guarded OR outbox_messages.lease_owner = ?3)"
    ),
}
_PG = {
    "attempt": (
        "INSERT INTO delivery_attempts"
        " (company_id, message_id, worker, started_at, finished_at, outcome, code, reply)"
        " SELECT %(company)s, v.message_id, %(worker)s, v.started_at, v.finished_at, v.outcome,"
        " v.code, v.reply FROM json_to_recordset(%(rows)s::json)"
        " AS v(message_id int, started_at timestamptz,"
        " finished_at timestamptz, outcome text, code int, reply text)"
    ),
    "recipient": (
        "UPDATE outbox_recipients AS r SET status = v.status, code = v.code, reply = v.reply,"
        " updated_at = %(now)s FROM json_to_recordset(%(rows)s::json)"
        " AS v(id int, status text, code int, reply text, company_id int)"
        " WHERE r.id = ANY(%(ids)s) AND r.id = v.id AND r.company_id = v.company_id"
    ),
    "message": (
        "UPDATE outbox_messages AS m SET status = v.status, attempt_count = m.attempt_count + 1,"
        " last_code = v.code, last_reply = v.reply, lease_owner = NULL, lease_expires_at = NULL,"
        " next_attempt_at = CASE WHEN v.retrying THEN v.next_at ELSE m.next_attempt_at END,"
        " sent_at = CASE WHEN v.retrying THEN m.sent_at ELSE v.done_at END,"
        " sent_copy_status = CASE WHEN v.retrying THEN m.sent_copy_status ELSE v.copy END"
        " FROM json_to_recordset(%(rows)s::json) AS v(id int, status text, code int,"
        " reply text, retrying boolean,"
        " next_at timestamptz, done_at timestamptz, copy text, guarded boolean, company_id int)"
        " WHERE m.id = ANY(%(ids)s) AND m.id = v.id AND m.company_id = v.company_id"
        " AND (NOT v.guarded OR m.lease_owner = %(worker)s)"
    ),
}
_COLUMNS = {
    "attempts": ("message_id", "started_at", "finished_at", "outcome", "code", "reply"),
    "recipients": ("id", "status", "code", "reply"),
    "messages": (
        "id",
        "status",
        "code",
        "reply",
        "retrying",
        "next_at",
        "done_at",
        "copy",
        "guarded",
    ),
}


def _sqlite_statements() -> dict[str, str]:
    tables = {
        name: _SQLITE_ROWS.format(
            columns=", ".join(f"json_extract(value, '$.{c}') AS {c}" for c in columns)
        )
        for name, columns in _COLUMNS.items()
    }
    return {key: sql.format(keys=_SQLITE_KEYS, **tables) for key, sql in _SQLITE.items()}


@dataclass(frozen=True)
class _Statements:
    sql: dict[str, str]
    sqlite: bool
    when: Callable[[datetime | None], Any]  # a datetime as the JSON carries it


_BY_DIALECT: dict[str, _Statements] = {}


def _statements(dialect: Dialect) -> _Statements:
    found = _BY_DIALECT.get(dialect.name)
    if found is None:
        found = _BY_DIALECT[dialect.name] = _prepare(dialect)
    return found


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _prepare(dialect: Dialect) -> _Statements:
    if dialect.name != "sqlite":
        return _Statements(_PG, sqlite=False, when=_iso)
    # The column type's own text form for SQLite, taken once: the rows must read back
    # exactly as the ORM writes them.
    processor = MESSAGES.c.sent_at.type.dialect_impl(dialect).bind_processor(dialect)
    assert processor is not None
    return _Statements(_sqlite_statements(), sqlite=True, when=processor)


def _rows(
    outcomes: Sequence[Outcome], company_id: int, when: Callable[[datetime | None], Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    started: dict[datetime, Any] = {}  # a claim's messages share their start
    attempts: list[dict[str, Any]] = []
    recipients: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for o in outcomes:
        message = o.message
        start = started.get(message.claimed_at)
        if start is None:
            start = started[message.claimed_at] = when(message.claimed_at)
        finished = when(o.finished_at)
        attempts.append(
            {
                "message_id": message.id,
                "started_at": start,
                "finished_at": finished,
                "outcome": o.outcome.value,
                "code": o.code,
                "reply": o.reply,
            }
        )
        recipients += [
            {
                "id": r.recipient_id,
                "status": r.status.value,
                "code": r.code,
                "reply": r.reply,
                "company_id": company_id,
            }
            for r in o.recipients
        ]
        retrying = o.status is MessageStatus.RETRYING
        messages.append(
            {
                "id": message.id,
                "status": o.status.value,
                "code": o.code,
                "reply": o.reply,
                "retrying": retrying,
                "next_at": when(o.next_attempt_at) if retrying else None,
                "done_at": finished if o.sent else None,
                "copy": o.sent_copy.value,
                "guarded": not o.sent,
                "company_id": company_id,
            }
        )
    return attempts, recipients, messages


def write_outcomes(
    conn: Connection, company_id: int, outcomes: Sequence[Outcome], *, worker_id: str
) -> None:
    """Record the outcomes of one company's messages in the caller's transaction: one
    statement per table for the whole group, each confined to `company_id`."""
    if not outcomes:
        return
    statements = _statements(conn.dialect)
    sql, when = statements.sql, statements.when
    attempts, recipients, messages = _rows(outcomes, company_id, when)
    now = when(utcnow())
    # The driver's own cursor, in the caller's transaction: SQLAlchemy's execution context
    # costs more per statement than the statement itself.
    cursor = conn.connection.cursor()
    try:
        if statements.sqlite:
            for key, rows in (
                ("attempt", attempts),
                ("recipient", recipients),
                ("message", messages),
            ):
                if rows:  # ?1 the rows, ?2 the company, ?3 the worker (recipients: the time)
                    third = now if key == "recipient" else worker_id
                    cursor.execute(sql[key], (json.dumps(rows), company_id, third))
            return
        params = {"company": company_id, "worker": worker_id, "now": now}
        # One round trip for all of it (psycopg's pipeline mode): the recorder waits for the
        # network once, not once per statement.
        with conn.connection.driver_connection.pipeline():  # type: ignore[union-attr]
            # The commit of a result need not wait for PostgreSQL's disk flush: a database
            # crash could lose results of its last moments, and those messages would be sent
            # again (duplicates, never a loss), the same promise SQLite's synchronous=NORMAL
            # gives. The queued messages themselves are committed with a flush (submit).
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            for key, rows in (
                ("attempt", attempts),
                ("recipient", recipients),
                ("message", messages),
            ):
                if rows:
                    ids = [row.get("id") for row in rows]
                    cursor.execute(sql[key], {**params, "rows": json.dumps(rows), "ids": ids})
    finally:
        cursor.close()


@dataclass
class HealthMemo:
    """Accounts this process found healthy and recently marked so, and when it looked."""

    seen: dict[int, datetime] = field(default_factory=dict)

    def fresh(self, account_id: int, now: datetime) -> bool:
        last = self.seen.get(account_id)
        return last is not None and now - last < HEALTH_MEMO


def health_to_write(outcomes: Sequence[Outcome], memo: HealthMemo) -> bool:
    """Whether update_health has anything to look at: a failure, or an account this process
    has not seen healthy in the last few seconds."""
    now = utcnow()
    return any(
        o.health is not None
        and o.message.account_id is not None
        and (o.health.kind is not None or not memo.fresh(o.message.account_id, now))
        for o in outcomes
    )


def update_health(
    session: Session,
    outcomes: Sequence[Outcome],
    *,
    auth_failure_limit: int,
    memo: HealthMemo | None = None,
) -> None:
    """Account health from the connections: the last event per account counts."""
    last: dict[int, HealthEvent] = {}
    for o in outcomes:
        if o.health is not None and o.message.account_id is not None:
            last[o.message.account_id] = o.health
    now = utcnow()
    memo = memo if memo is not None else HealthMemo()
    for account_id, health in last.items():
        if health.kind is None and _still_healthy(session, memo, account_id, now):
            continue  # healthy and recently marked so: no row to load or write
        memo.seen.pop(account_id, None)
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


def _still_healthy(session: Session, memo: HealthMemo, account_id: int, now: datetime) -> bool:
    if memo.fresh(account_id, now):
        return True  # this process looked a moment ago: not even a look at the row
    if _needs_refresh(session, account_id, now):
        return False
    memo.seen[account_id] = now
    return True


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
