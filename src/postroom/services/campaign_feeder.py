"""The worker's side of campaigns: render pending rows and queue them in the outbox, a batch
at a time, within the sending account's limits; then mark the campaign completed."""

# One feeder per campaign at a time: a lease on the campaign row (lease_owner/lease_expires_at),
# renewed by an UPDATE guarded by status "running" at the start of every batch, so a pause or
# cancel committed meanwhile stops it before it queues anything more (campaign_control.py).
# Each batch is one transaction: its outbox messages and its rows' new statuses commit together,
# and each message's idempotency key is derived from campaign and row, so no crash or second
# feeder can ever queue a row twice.

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from postroom.autoconfig.presets import Preset
from postroom.db.base import utcnow
from postroom.db.models import User
from postroom.db.models_campaigns import Campaign, CampaignRecipient, TemplateVersion
from postroom.enums import CampaignRecipientStatus, CampaignStatus
from postroom.services import template_render
from postroom.services.campaign_batch import (
    Batch,
    BatchTally,
    pending_rows,
    run_batch,
    save_outcomes,
)
from postroom.services.campaign_templates import compile_for, send_as, template_of
from postroom.services.campaign_throttle import ON_ITS_WAY
from postroom.services.outbox_tables import MESSAGES
from postroom.services.runtime import Runtime

log = logging.getLogger("postroom.campaigns")
R = CampaignRecipientStatus
_COMPILED_CACHE = 32


@dataclass(frozen=True)
class FeedOptions:
    batch: int = 100  # rows rendered and queued per transaction
    lease_seconds: float = 120.0
    budget_seconds: float = 10.0  # then the next campaign's turn
    presets: tuple[Preset, ...] | None = None  # provider limits; the bundled ones by default


@dataclass
class FeedResult(BatchTally):
    completed: bool = False


_compiled: OrderedDict[tuple[str, int, datetime, str], template_render.CompiledTemplate] = (
    OrderedDict()
)


def _compile(
    version: TemplateVersion, actor: User, runtime: Runtime
) -> template_render.CompiledTemplate:
    """Versions never change, so each is parsed once per process, not once per batch. The key
    names the database and the version's creation too: one process may serve several
    databases (tests, benchmarks), whose version ids start alike."""
    database = runtime.settings.effective_database_url
    key = (database, version.id, version.created_at, actor.language.value)
    found = _compiled.get(key)
    if found is None:
        found = compile_for(version, actor, runtime.settings)
        _compiled[key] = found
        if len(_compiled) > _COMPILED_CACHE:
            _compiled.popitem(last=False)
    return found


def due_campaigns(runtime: Runtime, now: datetime, limit: int = 50) -> list[tuple[int, int]]:
    """(company, campaign) of running campaigns and scheduled ones whose time has come, that
    no feeder holds (platform session: every company)."""
    with runtime.platform() as session:
        rows = session.execute(
            select(Campaign.company_id, Campaign.id)
            .where(
                or_(
                    Campaign.status == CampaignStatus.RUNNING,
                    and_(
                        Campaign.status == CampaignStatus.SCHEDULED,
                        Campaign.scheduled_at <= now,
                    ),
                ),
                or_(Campaign.lease_expires_at.is_(None), Campaign.lease_expires_at < now),
            )
            .order_by(Campaign.id)
            .limit(limit)
        )
        return [(company_id, campaign_id) for company_id, campaign_id in rows]


def _lease(
    session: Session, campaign_id: int, worker_id: str, now: datetime, seconds: float
) -> bool:
    """Take or renew the lease of a running campaign; whether this feeder holds it. The
    UPDATE also locks the row until the transaction ends (see campaign_control.py)."""
    result = session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.status == CampaignStatus.RUNNING,
            or_(
                Campaign.lease_owner.is_(None),
                Campaign.lease_owner == worker_id,
                Campaign.lease_expires_at < now,
            ),
        )
        .values(lease_owner=worker_id, lease_expires_at=now + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def _start_if_due(session: Session, campaign_id: int, now: datetime) -> None:
    session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.status == CampaignStatus.SCHEDULED,
            Campaign.scheduled_at <= now,
        )
        .values(status=CampaignStatus.RUNNING, started_at=now)
        .execution_options(synchronize_session=False)
    )


def _feed_batch(
    runtime: Runtime,
    ids: tuple[int, int],
    worker_id: str,
    now: datetime,
    options: FeedOptions,
    result: FeedResult,
) -> bool:
    """One batch in one transaction; whether to go on with another."""
    company_id, campaign_id = ids
    with runtime.tenant(company_id) as session:
        if not _lease(session, campaign_id, worker_id, now, options.lease_seconds):
            return False  # paused, cancelled, or another feeder took over
        rows = pending_rows(session, campaign_id, options.batch)
        if not rows:
            return False
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        template, version = template_of(session, campaign)
        creator = campaign.created_by_user_id
        actor = session.get(User, creator) if creator is not None else None
        batch = Batch(
            campaign=campaign,
            actor=actor,
            what=send_as(template),
            compiled=_compile(version, actor, runtime) if actor is not None else None,
            runtime=runtime,
            now=now,
            size=options.batch,
            presets=options.presets,
            tally=result,
        )
        whole = run_batch(session, batch, rows)
        save_outcomes(session, company_id, batch.outcomes)
        # Go on while rows may be left: a full batch, or one the relay's quota cut short.
        return whole and (len(rows) == options.batch or len(batch.outcomes) < len(rows))


def _complete_if_done(runtime: Runtime, company_id: int, campaign_id: int, now: datetime) -> bool:
    """A running campaign with no pending row and no message still on its way is completed."""
    with runtime.tenant(company_id) as session:
        pending = session.scalar(
            select(func.count()).where(
                CampaignRecipient.campaign_id == campaign_id,
                CampaignRecipient.status == R.PENDING,
            )
        )
        on_its_way = session.scalar(
            select(func.count())
            .select_from(CampaignRecipient)
            .join(MESSAGES, MESSAGES.c.id == CampaignRecipient.outbox_message_id)
            .where(
                CampaignRecipient.campaign_id == campaign_id,
                CampaignRecipient.status == R.QUEUED,
                MESSAGES.c.status.in_(ON_ITS_WAY),
            )
        )
        if pending or on_its_way:
            return False
        done = session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.RUNNING)
            .values(status=CampaignStatus.COMPLETED, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(done, "rowcount", 0) == 1)


def _release(runtime: Runtime, company_id: int, campaign_id: int, worker_id: str) -> None:
    with runtime.tenant(company_id) as session:
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id, Campaign.lease_owner == worker_id)
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )


def feed_campaign(
    runtime: Runtime,
    company_id: int,
    campaign_id: int,
    *,
    worker_id: str,
    now: datetime | None = None,
    options: FeedOptions = FeedOptions(),
) -> FeedResult:
    """Queue what may be queued of one campaign now. `now` decides the schedule and the
    sending limits (tests pass their own clock); the time budget is measured apart."""
    now = now or utcnow()
    result = FeedResult()
    with runtime.tenant(company_id) as session:
        _start_if_due(session, campaign_id, now)
        if not _lease(session, campaign_id, worker_id, now, options.lease_seconds):
            return result
    try:
        started = time.monotonic()
        ids = (company_id, campaign_id)
        while _feed_batch(runtime, ids, worker_id, now, options, result):
            if time.monotonic() - started > options.budget_seconds:
                break
        result.completed = _complete_if_done(runtime, company_id, campaign_id, now)
    finally:
        _release(runtime, company_id, campaign_id, worker_id)
    if result.queued or result.failed or result.opted_out or result.completed:
        log.info(
            "campaign fed",
            extra={
                "company_id": company_id,
                "campaign_id": campaign_id,
                "queued": result.queued,
                "failed": result.failed,
                "opted_out": result.opted_out,
                "throttled": result.throttled,
                "completed": result.completed,
            },
        )
    return result


def feed_due(
    runtime: Runtime,
    *,
    worker_id: str,
    now: datetime | None = None,
    options: FeedOptions = FeedOptions(),
) -> int:
    """One turn over every due campaign; how many messages were queued."""
    now = now or utcnow()
    queued = 0
    for company_id, campaign_id in due_campaigns(runtime, now):
        fed = feed_campaign(
            runtime, company_id, campaign_id, worker_id=worker_id, now=now, options=options
        )
        queued += fed.queued
    return queued
