"""A campaign's progress: each row's status joined with its outbox message, rate and ETA."""

# A queued row's fate is its outbox message's status (sent, failed, bounced), read live: a
# bounce that arrives a day later shows at once, and the rows need no second write per message.

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, case, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models_campaigns import Campaign, CampaignRecipient
from postroom.enums import CampaignRecipientStatus, CampaignStatus, MessageStatus
from postroom.errors import NotFoundError
from postroom.services.outbox_tables import MESSAGES
from postroom.services.runtime import Runtime

M = MESSAGES.c
R = CampaignRecipientStatus
RATE_WINDOW = timedelta(minutes=5)
# Every status a row can show, in the order progress lists them.
SHOWN = (R.PENDING, R.QUEUED, R.SENT, R.FAILED, R.BOUNCED, R.OPTED_OUT, R.INVALID, R.CANCELLED)
_FROM_MESSAGE = {
    MessageStatus.SENT.value: R.SENT.value,
    MessageStatus.FAILED.value: R.FAILED.value,
    MessageStatus.BOUNCED.value: R.BOUNCED.value,
}


@dataclass(frozen=True)
class Progress:
    status: CampaignStatus
    counts: dict[str, int]  # every SHOWN status, zero included
    total: int
    rate_per_minute: float  # messages sent per minute over the last few minutes
    eta_seconds: int | None  # None: nothing left, or nothing sent lately to tell from

    @property
    def remaining(self) -> int:
        return self.counts[R.PENDING.value] + self.counts[R.QUEUED.value]

    @property
    def done(self) -> int:
        return self.total - self.remaining

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "counts": self.counts,
            "total": self.total,
            "remaining": self.remaining,
            "rate_per_minute": self.rate_per_minute,
            "eta_seconds": self.eta_seconds,
        }


def effective_status() -> ColumnElement[str]:
    """A row's status as shown: a queued row takes its message's final status."""
    recipient = CampaignRecipient.status
    by_message = [
        (
            (recipient == R.QUEUED) & (M.status == message),
            literal(shown, String),
        )
        for message, shown in _FROM_MESSAGE.items()
    ]
    return case(*by_message, else_=type_coerce(recipient, String))


def _joined_counts(session: Session, campaign_id: int) -> dict[str, int]:
    shown = effective_status().label("shown")
    query = (
        select(shown, func.count())
        .select_from(CampaignRecipient)
        .outerjoin(MESSAGES, M.id == CampaignRecipient.outbox_message_id)
        .where(CampaignRecipient.campaign_id == campaign_id)
        .group_by(shown)
    )
    counts = dict.fromkeys((s.value for s in SHOWN), 0)
    for status, number in session.execute(query):
        key = status.value if isinstance(status, R) else str(status)
        counts[key] = counts.get(key, 0) + int(number)
    return counts


def _sent_since(session: Session, campaign: Campaign, since: datetime) -> int:
    query = (
        select(func.count())
        .select_from(CampaignRecipient)
        .join(MESSAGES, M.id == CampaignRecipient.outbox_message_id)
        .where(
            CampaignRecipient.campaign_id == campaign.id,
            M.company_id == campaign.company_id,
            M.sent_at >= since,
        )
    )
    return session.scalar(query) or 0


def _rate(session: Session, campaign: Campaign, now: datetime) -> float:
    if campaign.started_at is None:
        return 0.0
    since = max(now - RATE_WINDOW, campaign.started_at)
    minutes = max((now - since).total_seconds() / 60, 1 / 6)  # at least ten seconds
    return round(_sent_since(session, campaign, since) / minutes, 1)


def campaign_progress(session: Session, campaign: Campaign, now: datetime) -> Progress:
    counts = _joined_counts(session, campaign.id)
    rate = _rate(session, campaign, now)
    remaining = counts[R.PENDING.value] + counts[R.QUEUED.value]
    active = campaign.status in (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED)
    eta = round(remaining / rate * 60) if remaining and rate > 0 and active else None
    return Progress(campaign.status, counts, sum(counts.values()), rate, eta)


@dataclass(frozen=True)
class RecipientLine:
    """A row as listed: its shown status and, once sent or failed, the server's last words."""

    recipient: CampaignRecipient
    status: str
    last_reply: str | None


def list_recipients(
    session: Session,
    campaign_id: int,
    *,
    status: CampaignRecipientStatus | None = None,
    with_problems: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[RecipientLine], int]:
    """A page of rows in row order, filtered by shown status or to those with problems."""
    shown = effective_status()
    conditions = [CampaignRecipient.campaign_id == campaign_id]
    if status is not None:
        conditions.append(shown == status.value)
    if with_problems:
        conditions.append(
            CampaignRecipient.status.in_((R.INVALID, R.OPTED_OUT, R.FAILED, R.CANCELLED))
        )
    base = (
        select(CampaignRecipient, shown.label("shown"), M.last_reply)
        .outerjoin(MESSAGES, M.id == CampaignRecipient.outbox_message_id)
        .where(*conditions)
    )
    total = session.scalar(
        select(func.count())
        .select_from(CampaignRecipient)
        .outerjoin(MESSAGES, M.id == CampaignRecipient.outbox_message_id)
        .where(*conditions)
    )
    rows = session.execute(base.order_by(CampaignRecipient.row_number).limit(limit).offset(offset))
    lines = [RecipientLine(row, str(shown_status), reply) for row, shown_status, reply in rows]
    return lines, total or 0


def read_progress(runtime: Runtime, campaign_id: int) -> tuple[str, Progress]:
    """A campaign's name and progress for the operator (`postroom campaign status`): found
    across companies, then read in its own company's session."""
    with runtime.platform() as session:
        company_id = session.scalar(select(Campaign.company_id).where(Campaign.id == campaign_id))
    if company_id is None:
        raise NotFoundError(f"Campaign {campaign_id} does not exist.")
    with runtime.tenant(company_id) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign.name, campaign_progress(session, campaign, utcnow())
