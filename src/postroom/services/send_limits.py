"""Per-account sending limits (C3): messages over a limit wait in the queue, never fail."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session

from postroom.autoconfig.presets import Preset
from postroom.enums import MessageStatus
from postroom.services.outbox_tables import ACCOUNTS, MESSAGES
from postroom.services.provider_rules import preset_for

A = ACCOUNTS.c
M = MESSAGES.c
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """At most `limit` messages per `length` (a sliding window over sent_at)."""

    length: timedelta
    limit: int


def account_windows(
    session: Session, account_ids: set[int], presets: tuple[Preset, ...] | None = None
) -> dict[int, tuple[Window, ...]]:
    """The limits of each account that has any: its own, or its provider's daily limit."""
    query = select(
        A.id, A.email_address, A.smtp_host, A.send_limit_per_minute, A.send_limit_per_day
    ).where(A.id.in_(sorted(account_ids)))
    found: dict[int, tuple[Window, ...]] = {}
    for account_id, address, host, per_minute, per_day in session.connection().execute(query):
        if per_day is None:
            preset = preset_for(address, host, presets)
            per_day = preset.daily_send_limit if preset is not None else None
        windows = [Window(MINUTE, per_minute)] if per_minute is not None else []
        windows += [Window(DAY, per_day)] if per_day is not None else []
        if windows:
            found[account_id] = tuple(windows)
    return found


def _room(
    session: Session, account_id: int, window: Window, ours: list[int], now: datetime
) -> tuple[int, datetime]:
    """(messages that may still go now, when the window has room again if none may)."""
    since = now - window.length
    in_window = or_(
        M.sent_at >= since,
        (M.status == MessageStatus.SENDING) & M.id.not_in(ours),
    )
    query = select(func.count(), func.min(M.sent_at)).where(M.account_id == account_id, in_window)
    used, oldest = session.connection().execute(query).one()
    if oldest is not None and oldest.tzinfo is None:  # SQLite hands back naive UTC
        oldest = oldest.replace(tzinfo=now.tzinfo)
    # Messages in flight (ours included) go out about now: their room frees a window later.
    until = (oldest if oldest is not None else now) + window.length
    return window.limit - int(used), max(until, now + timedelta(seconds=1))


def hold_back_over_limit(
    session: Session,
    rows: Sequence[Row[Any]],
    *,
    now: datetime,
    presets: tuple[Preset, ...] | None = None,
) -> list[Row[Any]]:
    """The claimed rows that may be sent now; the others are put back in the queue (still
    queued, or retrying) with next_attempt_at when their account's window has room again."""
    by_account: dict[int, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        if row.account_id is not None and not row.via_relay:
            by_account[row.account_id].append(row)
    limits = account_windows(session, set(by_account), presets) if by_account else {}
    if not limits:
        return list(rows)
    # Two workers claiming for one account would each see room for a full window: the lock on
    # the account rows (PostgreSQL) makes the second count after the first has committed.
    session.connection().execute(
        select(A.id).where(A.id.in_(sorted(limits))).order_by(A.id).with_for_update()
    )
    ours = [row.id for row in rows]
    held: dict[int, datetime] = {}
    for account_id, windows in limits.items():
        rooms = [_room(session, account_id, window, ours, now) for window in windows]
        allowed = max(0, min(room for room, _ in rooms))
        until = max(when for room, when in rooms if room <= allowed)
        held |= dict.fromkeys((row.id for row in by_account[account_id][allowed:]), until)
    _put_back(session, held)
    return [row for row in rows if row.id not in held]


def _put_back(session: Session, held: dict[int, datetime]) -> None:
    if not held:
        return
    statement = (
        update(MESSAGES)
        .where(M.id == bindparam("held_id"))
        .values(
            status=case(
                (M.attempt_count > 0, MessageStatus.RETRYING.value),
                else_=MessageStatus.QUEUED.value,
            ),
            next_attempt_at=bindparam("until"),
            lease_owner=None,
            lease_expires_at=None,
        )
    )
    session.connection().execute(
        statement, [{"held_id": mid, "until": until} for mid, until in held.items()]
    )
