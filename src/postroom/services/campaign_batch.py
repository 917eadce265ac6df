"""One batch of a campaign's pending rows: the sender by the rules, the room the account's and
the relay's limits leave, each row rendered and queued, and every row's outcome saved."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from postroom.autoconfig.presets import Preset
from postroom.db.models import User
from postroom.db.models_campaigns import Campaign, CampaignRecipient
from postroom.enums import CampaignRecipientStatus, DocumentCategory
from postroom.errors import SendingRefusedError
from postroom.services import campaign_enqueue, relay, routing, template_render
from postroom.services.campaign_checks import BULK_KINDS, problem, unsubscribed
from postroom.services.campaign_message import PreparedMessage, prepare
from postroom.services.campaign_store import RECIPIENTS
from postroom.services.campaign_templates import SendAs
from postroom.services.campaign_throttle import allowance
from postroom.services.companies import get_company
from postroom.services.runtime import Runtime

R = CampaignRecipientStatus
CREATOR_GONE = (
    "The user who created the campaign no longer exists or is inactive; nothing is sent in "
    "their name."
)
UNSUBSCRIBED = "This address unsubscribed from the company's newsletters."


@dataclass
class BatchTally:
    queued: int = 0
    failed: int = 0
    opted_out: int = 0
    throttled: bool = False  # an account's limit (or the relay's) left less room than rows


@dataclass
class Batch:
    """One batch's context, read in its transaction, and the outcomes it collects."""

    campaign: Campaign
    actor: User | None
    what: SendAs
    compiled: template_render.CompiledTemplate | None
    runtime: Runtime
    now: datetime
    size: int
    presets: tuple[Preset, ...] | None
    tally: BatchTally
    outcomes: list[dict[str, Any]] = field(default_factory=list)

    def settle(
        self,
        row_id: int,
        status: R,
        message_id: int | None = None,
        problems: list[dict[str, Any]] | None = None,
    ) -> None:
        self.outcomes.append(
            {
                "rid": row_id,
                "new_status": status.value,
                "message": message_id,
                "new_problems": problems,
            }
        )
        if status is R.QUEUED:
            self.tally.queued += 1
        elif status is R.OPTED_OUT:
            self.tally.opted_out += 1
        else:
            self.tally.failed += 1


def pending_rows(session: Session, campaign_id: int, limit: int) -> list[CampaignRecipient]:
    return list(
        session.scalars(
            select(CampaignRecipient)
            .where(
                CampaignRecipient.campaign_id == campaign_id,
                CampaignRecipient.status == R.PENDING,
            )
            .order_by(CampaignRecipient.row_number)
            .limit(limit)
        )
    )


def save_outcomes(session: Session, company_id: int, outcomes: list[dict[str, Any]]) -> None:
    """Every row's new status in one executemany, each confined to the company and to rows
    still pending (a cancel committed first has the last word)."""
    if not outcomes:
        return
    statement = (
        update(RECIPIENTS)
        .where(
            RECIPIENTS.c.id == bindparam("rid"),
            RECIPIENTS.c.company_id == company_id,
            RECIPIENTS.c.status == R.PENDING.value,
        )
        .values(
            status=bindparam("new_status"),
            outbox_message_id=bindparam("message"),
            problems=bindparam("new_problems"),
        )
    )
    session.connection().execute(statement, outcomes)


def _sender(session: Session, batch: Batch, actor: User) -> routing.SenderChoice:
    campaign = batch.campaign
    return routing.choose_sender(
        session,
        actor=actor,
        project_id=campaign.project_id,
        account_id=campaign.account_id,
        document_kind=batch.what.document_kind,
        from_own_template=batch.what.from_own_template,
        settings=batch.runtime.settings,
    )


def _room(session: Session, batch: Batch, choice: routing.SenderChoice) -> tuple[int, bool]:
    """Rows this batch may queue, and whether the account's limits are what holds it back.
    The relay's document quota cuts the batch too, but what it leaves over is refused by the
    rules (with their own words) at the next batch rather than waiting: the quota is a total."""
    room, held = batch.size, False
    account_id = choice.account.id if choice.account is not None else None
    limit = allowance(session, account_id, batch.now, batch.presets)
    if limit is not None and limit < room:
        room, held = limit, True
    category = relay.effective_category(batch.what.document_kind, batch.what.from_own_template)
    if choice.via_relay and category is not DocumentCategory.NONE:
        company = get_company(session, batch.campaign.company_id)
        remaining = relay.relay_quota(session, company, batch.runtime.settings).remaining
        room = min(room, remaining) if remaining > 0 else room
    return room, held


def _prepared(
    session: Session, batch: Batch, rows: list[CampaignRecipient], mailto: str | None
) -> list[PreparedMessage]:
    """The rows rendered; unsubscribed addresses (since the check) and rows whose data breaks
    the template are settled here instead."""
    bulk = batch.campaign.kind in BULK_KINDS
    left = unsubscribed(session, [r.email for r in rows]) if bulk else set()
    assert batch.compiled is not None
    ready = []
    for row in rows:
        if row.email.lower() in left:
            batch.settle(
                row.id, R.OPTED_OUT, problems=[problem("email", UNSUBSCRIBED, "unsubscribed")]
            )
            continue
        try:
            ready.append(
                prepare(
                    campaign=batch.campaign,
                    recipient=row,
                    compiled=batch.compiled,
                    what=batch.what,
                    mailto=mailto,
                    settings=batch.runtime.settings,
                )
            )
        except template_render.TemplateRenderError as exc:
            batch.settle(
                row.id, R.FAILED, problems=[problem("template", exc.message, exc.code, exc.line)]
            )
    return ready


def run_batch(session: Session, batch: Batch, rows: list[CampaignRecipient]) -> bool:
    """Queue what the limits allow of `rows`; whether every row was dealt with (False: the
    limits held some back, or none were allowed)."""
    actor = batch.actor
    if actor is None or not actor.active:
        for row in rows:
            batch.settle(
                row.id, R.FAILED, problems=[problem("campaign", CREATOR_GONE, "creator_gone")]
            )
        return True
    try:
        choice = _sender(session, batch, actor)
    except SendingRefusedError as exc:
        reason = problem("sender", exc.message, exc.code)
        for row in rows:
            batch.settle(row.id, R.FAILED, problems=[reason])
        return True
    room, held = _room(session, batch, choice)
    if held and room < len(rows):
        batch.tally.throttled = True
    mailto = choice.account.email_address if choice.account is not None else actor.email
    ready = _prepared(session, batch, rows[:room], mailto)
    for queued in campaign_enqueue.enqueue(
        session, actor=actor, items=ready, runtime=batch.runtime
    ):
        if queued.message_id is None:
            batch.settle(queued.recipient_id, R.FAILED, problems=queued.problems)
        else:
            batch.settle(queued.recipient_id, R.QUEUED, message_id=queued.message_id)
    return not (held and room < len(rows))
