"""How many more messages a campaign may queue for one account now, so that the outbox never
holds more than the account's sending limits let go (per minute, per day)."""

# The outbox already holds back, never fails, a message over a limit (send_limits.py). The
# feeder goes further and does not queue ahead of the limits at all: a campaign of 10,000 for
# a Gmail mailbox (500 a day, presets.toml) queues 500, then the next ones as the window has
# room, so neither the mailbox nor other mail from it waits behind a wall of queued messages.

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postroom.autoconfig.presets import Preset
from postroom.enums import MessageStatus
from postroom.services import send_limits
from postroom.services.campaign_outbox import HELD_UNTIL
from postroom.services.outbox_tables import MESSAGES

M = MESSAGES.c
ON_ITS_WAY = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value, MessageStatus.RETRYING.value)


def _used(session: Session, account_id: int, window: send_limits.Window, now: datetime) -> int:
    """Messages of the account sent within the window, plus those still to go (any campaign
    or not; a paused campaign's held messages are not about to go)."""
    sent = select(func.count()).where(M.account_id == account_id, M.sent_at >= now - window.length)
    waiting = select(func.count()).where(
        M.account_id == account_id,
        M.status.in_(ON_ITS_WAY),
        M.next_attempt_at < HELD_UNTIL,
    )
    connection = session.connection()
    return int(connection.execute(sent).scalar_one()) + int(
        connection.execute(waiting).scalar_one()
    )


def allowance(
    session: Session,
    account_id: int | None,
    now: datetime,
    presets: tuple[Preset, ...] | None = None,
) -> int | None:
    """How many messages from `account_id` may be queued now; None: no limit (the account has
    none, or the message goes through the relay, whose limit is per company, B5)."""
    if account_id is None:
        return None
    windows = send_limits.account_windows(session, {account_id}, presets).get(account_id)
    if not windows:
        return None
    rooms = [window.limit - _used(session, account_id, window, now) for window in windows]
    return max(0, min(rooms))
