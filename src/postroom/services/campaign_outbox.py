"""A campaign's messages already in the outbox: held while it is paused, given back on resume,
withdrawn on cancel. Only messages no worker has claimed yet are touched."""

# The outbox has no "held" status: a held message stays queued (or retrying) with its next
# attempt moved to HELD_UNTIL, so no worker's claim (due = next_attempt_at <= now) takes it.
# A message a worker has already claimed (sending) is on its way and goes; docs/campaigns.md.

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from postroom.db.models_campaigns import CampaignRecipient
from postroom.enums import CampaignRecipientStatus, MessageStatus
from postroom.services.outbox_tables import MESSAGES

M = MESSAGES.c
HELD_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
WAITING = (MessageStatus.QUEUED.value, MessageStatus.RETRYING.value)
CANCELLED_REPLY = "Not sent: the campaign was cancelled before this message was sent."


def _campaign_messages(company_id: int, campaign_id: int) -> Select[Any]:
    # Run on the connection, outside the ORM's tenant scope: the company is named here.
    return select(CampaignRecipient.outbox_message_id).where(
        CampaignRecipient.company_id == company_id,
        CampaignRecipient.campaign_id == campaign_id,
        CampaignRecipient.status == CampaignRecipientStatus.QUEUED,
        CampaignRecipient.outbox_message_id.is_not(None),
    )


def hold(session: Session, *, company_id: int, campaign_id: int) -> int:
    """Keep the campaign's unclaimed messages in the queue until released; how many."""
    statement = (
        update(MESSAGES)
        .where(
            M.company_id == company_id,
            M.id.in_(_campaign_messages(company_id, campaign_id)),
            M.status.in_(WAITING),
        )
        .values(next_attempt_at=HELD_UNTIL)
    )
    return session.connection().execute(statement).rowcount or 0


def release(
    session: Session, *, company_id: int, campaign_id: int, now: datetime, deadline_hours: float
) -> int:
    """Held messages due again now, with a fresh retry deadline (a pause does not use it up)."""
    statement = (
        update(MESSAGES)
        .where(
            M.company_id == company_id,
            M.id.in_(_campaign_messages(company_id, campaign_id)),
            M.status.in_(WAITING),
            M.next_attempt_at >= HELD_UNTIL,
        )
        .values(next_attempt_at=now, deadline_at=now + timedelta(hours=deadline_hours))
    )
    return session.connection().execute(statement).rowcount or 0


def withdraw(session: Session, *, company_id: int, campaign_id: int) -> int:
    """Fail the campaign's messages no worker has claimed, saying why; how many. A failed
    message reached nobody, so it does not count towards the relay's limit either (B5)."""
    statement = (
        update(MESSAGES)
        .where(
            M.company_id == company_id,
            M.id.in_(_campaign_messages(company_id, campaign_id)),
            M.status.in_(WAITING),
        )
        .values(
            status=MessageStatus.FAILED.value,
            last_reply=CANCELLED_REPLY,
            lease_owner=None,
            lease_expires_at=None,
        )
    )
    return session.connection().execute(statement).rowcount or 0


def withdrawn(company_id: int, campaign_id: int) -> Select[tuple[int]]:
    """The ids of the campaign's messages that withdraw() failed."""
    return select(M.id).where(
        M.company_id == company_id,
        M.id.in_(_campaign_messages(company_id, campaign_id)),
        M.status == MessageStatus.FAILED.value,
        M.last_reply == CANCELLED_REPLY,
    )


def is_held(message: Any) -> bool:
    """Held by a paused campaign (an outbox row, or anything with its next_attempt_at)."""
    return bool(message.next_attempt_at is not None and message.next_attempt_at >= HELD_UNTIL)
