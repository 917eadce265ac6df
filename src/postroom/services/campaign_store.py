"""Storing a campaign's rows a batch at a time, checked, and the validation report."""

# Rows arrive from a generator (an API list, a CSV/XLSX file, clients' contacts). Each batch
# is checked and inserted with one executemany, then dropped: a campaign of 100,000 rows is
# never held in memory, and its rows are all in the caller's one transaction (all or none).

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.models import User
from postroom.db.models_campaigns import Campaign, CampaignRecipient
from postroom.enums import CampaignRecipientStatus, CampaignStatus
from postroom.errors import ConflictError, ValidationError
from postroom.services import template_render
from postroom.services.campaign_checks import CheckedRow, RowChecks, check_batch
from postroom.services.campaign_rows import RowInput

RECIPIENTS = cast(Table, CampaignRecipient.__table__)
BATCH_ROWS = 500
REPORTED_PROBLEMS = 100  # rows with problems listed in a report; the rest are paged by the API
# Statuses a row can have before the campaign starts (what the validation report counts).
CHECK_STATUSES = (
    CampaignRecipientStatus.PENDING,
    CampaignRecipientStatus.INVALID,
    CampaignRecipientStatus.OPTED_OUT,
)


@dataclass(frozen=True)
class RowReport:
    row_number: int
    email: str
    status: CampaignRecipientStatus
    problems: list[dict[str, Any]]


@dataclass(frozen=True)
class ValidationReport:
    """Before anything is sent: how many rows, how many can go, and why the others cannot."""

    rows: int
    valid: int
    invalid: int
    opted_out: int
    problems: list[RowReport]  # the first REPORTED_PROBLEMS rows that have any, by row number

    @property
    def has_problems(self) -> bool:
        return self.invalid > 0


def _batches(rows: Iterable[RowInput]) -> Iterator[list[RowInput]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, BATCH_ROWS)):
        yield batch


def _values(campaign: Campaign, checked: CheckedRow) -> dict[str, Any]:
    row = checked.row
    return {
        "company_id": campaign.company_id,
        "campaign_id": campaign.id,
        "row_number": row.row_number,
        "email": checked.email[:320],
        "name": row.name[:300],
        "variables": row.variables,
        "attachment_file_ids": list(row.attachment_file_ids),
        "status": checked.status.value,
        "problems": checked.problems or None,
        # The recipient's own credential for the public unsubscribe and survey pages.
        "token": secrets.token_urlsafe(32),
    }


def last_row_number(session: Session, campaign_id: int) -> int:
    query = select(func.max(CampaignRecipient.row_number)).where(
        CampaignRecipient.campaign_id == campaign_id
    )
    return session.scalar(query) or 0


def row_count(session: Session, campaign_id: int) -> int:
    query = select(func.count()).where(CampaignRecipient.campaign_id == campaign_id)
    return session.scalar(query) or 0


def require_draft(campaign: Campaign) -> None:
    if campaign.status is not CampaignStatus.DRAFT:
        raise ConflictError(
            f"Campaign {campaign.id} has been started ({campaign.status.value}); rows can be "
            "added only before it starts. Create a new campaign for more recipients.",
            code="campaign_started",
        )


def store_rows(
    session: Session,
    *,
    actor: User,
    campaign: Campaign,
    compiled: template_render.CompiledTemplate,
    rows: Iterable[RowInput],
    settings: Settings,
) -> int:
    """Check and insert `rows` a batch at a time; how many were stored. More rows than a
    campaign may have refuse the whole request (the caller's transaction rolls back)."""
    require_draft(campaign)
    checks = RowChecks(campaign.id, campaign.kind, actor, compiled, settings)
    limit = settings.campaign_max_recipients
    stored = row_count(session, campaign.id)
    added = 0
    for batch in _batches(rows):
        if stored + len(batch) > limit:
            raise ValidationError.for_field(
                "recipients",
                f"A campaign may have at most {limit} recipients; split the list into several "
                "campaigns.",
                "too_many_recipients",
            )
        checked = check_batch(session, checks, batch)
        # Core executemany: one statement per batch, not one ORM object per row.
        session.execute(insert(RECIPIENTS), [_values(campaign, c) for c in checked])
        stored += len(batch)
        added += len(batch)
    return added


def validation_report(session: Session, campaign_id: int) -> ValidationReport:
    counts = dict(
        session.execute(
            select(CampaignRecipient.status, func.count())
            .where(CampaignRecipient.campaign_id == campaign_id)
            .group_by(CampaignRecipient.status)
        ).all()
    )
    with_problems = session.scalars(
        select(CampaignRecipient)
        .where(
            CampaignRecipient.campaign_id == campaign_id,
            CampaignRecipient.status.in_(
                (CampaignRecipientStatus.INVALID, CampaignRecipientStatus.OPTED_OUT)
            ),
        )
        .order_by(CampaignRecipient.row_number)
        .limit(REPORTED_PROBLEMS)
    )
    problems = [
        RowReport(r.row_number, r.email, r.status, list(r.problems or [])) for r in with_problems
    ]
    invalid = counts.get(CampaignRecipientStatus.INVALID, 0)
    opted_out = counts.get(CampaignRecipientStatus.OPTED_OUT, 0)
    return ValidationReport(
        rows=sum(counts.values()),
        valid=sum(n for status, n in counts.items() if status not in CHECK_STATUSES[1:]),
        invalid=invalid,
        opted_out=opted_out,
        problems=problems,
    )
