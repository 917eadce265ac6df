"""Steering a campaign: start (or schedule), pause, resume, cancel."""

# Each change is one UPDATE of the campaign row guarded by the status it changes from, so it
# waits for (and then sees) a feeder's batch being committed: the feeder renews its lease with
# an UPDATE of the same row, guarded by "running", at the start of every batch
# (campaign_feeder.py). A cancel therefore either comes before a batch, which then queues
# nothing, or after it, and withdraws what the batch queued.

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.base import utcnow
from postroom.db.models import User
from postroom.db.models_campaigns import Campaign, CampaignRecipient
from postroom.enums import CampaignRecipientStatus, CampaignStatus
from postroom.errors import ConflictError, ValidationError
from postroom.services import campaign_outbox

ACTIVE = (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING)
FINAL = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)


def _count(session: Session, campaign_id: int, status: CampaignRecipientStatus) -> int:
    query = select(func.count()).where(
        CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == status
    )
    return session.scalar(query) or 0


def _move(
    session: Session, campaign: Campaign, allowed: tuple[CampaignStatus, ...], **values: object
) -> bool:
    """Set `values` if the campaign is (still) in one of `allowed`; whether it was."""
    result = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status.in_(allowed))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(campaign)
    return bool(getattr(result, "rowcount", 0) == 1)


def _refuse(campaign: Campaign, action: str) -> ConflictError:
    return ConflictError(
        f"Campaign {campaign.id} is {campaign.status.value}: it cannot be {action}.",
        code="campaign_state",
    )


def start_campaign(
    session: Session,
    *,
    actor: User,
    campaign: Campaign,
    send_valid_only: bool = False,
    scheduled_at: datetime | None = None,
) -> Campaign:
    """Hand a draft to the worker, now or at its scheduled time. Invalid rows hold it back
    unless the user chose to send to the valid rows only. Starting again changes nothing."""
    if campaign.status in (*ACTIVE, CampaignStatus.PAUSED, CampaignStatus.COMPLETED):
        return campaign
    if campaign.status is not CampaignStatus.DRAFT:
        raise _refuse(campaign, "started")
    if _count(session, campaign.id, CampaignRecipientStatus.PENDING) == 0:
        raise ValidationError.for_field(
            "recipients",
            "The campaign has no row that can be sent: add recipients (or correct the rows "
            "with problems) first.",
            "no_valid_rows",
        )
    invalid = _count(session, campaign.id, CampaignRecipientStatus.INVALID)
    if invalid and not send_valid_only:
        raise ValidationError.for_field(
            "send_valid_only",
            f"{invalid} rows have problems (see the validation report). Correct them, or "
            "start with send_valid_only to send to the valid rows only.",
            "rows_have_problems",
        )
    when = scheduled_at or campaign.scheduled_at or utcnow()
    if not _move(
        session,
        campaign,
        (CampaignStatus.DRAFT,),
        status=CampaignStatus.SCHEDULED,
        scheduled_at=when,
    ):
        raise _refuse(campaign, "started")
    return campaign


def pause_campaign(session: Session, *, campaign: Campaign) -> int:
    """Stop feeding the outbox and hold the messages queued but not yet claimed; how many
    were held. Messages a worker has already claimed still go."""
    if campaign.status is CampaignStatus.PAUSED:
        return 0
    if not _move(session, campaign, ACTIVE, status=CampaignStatus.PAUSED):
        raise _refuse(campaign, "paused")
    return campaign_outbox.hold(session, company_id=campaign.company_id, campaign_id=campaign.id)


def resume_campaign(session: Session, *, campaign: Campaign, settings: Settings) -> int:
    """Feed again (or wait for the scheduled time, if it never started), and give the held
    messages back to the outbox; how many."""
    if campaign.status in ACTIVE:
        return 0
    status = CampaignStatus.RUNNING if campaign.started_at else CampaignStatus.SCHEDULED
    if not _move(session, campaign, (CampaignStatus.PAUSED,), status=status):
        raise _refuse(campaign, "resumed")
    return campaign_outbox.release(
        session,
        company_id=campaign.company_id,
        campaign_id=campaign.id,
        now=utcnow(),
        deadline_hours=settings.send_retry_deadline_hours,
    )


def cancel_campaign(session: Session, *, campaign: Campaign) -> int:
    """Stop for good: pending rows and the messages not yet claimed are cancelled; how many
    rows. Messages already claimed or sent are not called back."""
    if campaign.status is CampaignStatus.CANCELLED:
        return 0
    allowed = (CampaignStatus.DRAFT, *ACTIVE, CampaignStatus.PAUSED)
    now = utcnow()
    if not _move(session, campaign, allowed, status=CampaignStatus.CANCELLED, finished_at=now):
        raise _refuse(campaign, "cancelled")
    campaign_outbox.withdraw(session, company_id=campaign.company_id, campaign_id=campaign.id)
    gone = campaign_outbox.withdrawn(campaign.company_id, campaign.id)
    result = session.execute(
        update(CampaignRecipient)
        .where(
            CampaignRecipient.campaign_id == campaign.id,
            (CampaignRecipient.status == CampaignRecipientStatus.PENDING)
            | (
                (CampaignRecipient.status == CampaignRecipientStatus.QUEUED)
                & CampaignRecipient.outbox_message_id.in_(gone)
            ),
        )
        .values(status=CampaignRecipientStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
