"""More rows for a draft campaign: from the API's list or a CSV/XLSX file, checked like the
first ones."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import IO

from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.db.models_campaigns import Campaign
from postroom.services.campaign_rows import RowInput, rows_from_api, rows_from_upload
from postroom.services.campaign_schemas import RecipientRow
from postroom.services.campaign_store import (
    ValidationReport,
    last_row_number,
    store_rows,
    validation_report,
)
from postroom.services.campaign_templates import compile_for, template_of
from postroom.services.campaigns import get_campaign
from postroom.services.runtime import Runtime


def add_rows(
    session: Session,
    *,
    actor: User,
    campaign_id: int,
    rows: Iterable[RowInput],
    runtime: Runtime,
) -> tuple[Campaign, ValidationReport]:
    """More rows for a draft campaign, checked like the first ones."""
    campaign = get_campaign(session, actor=actor, campaign_id=campaign_id)
    _, version = template_of(session, campaign)
    store_rows(
        session,
        actor=actor,
        campaign=campaign,
        compiled=compile_for(version, actor, runtime.settings),
        rows=rows,
        settings=runtime.settings,
    )
    return campaign, validation_report(session, campaign.id)


def add_api_rows(
    session: Session,
    *,
    actor: User,
    campaign_id: int,
    rows: list[RecipientRow],
    runtime: Runtime,
) -> tuple[Campaign, ValidationReport]:
    """Rows from the API, numbered after those already there."""
    campaign = get_campaign(session, actor=actor, campaign_id=campaign_id)
    first = last_row_number(session, campaign.id) + 1
    return add_rows(
        session,
        actor=actor,
        campaign_id=campaign_id,
        rows=rows_from_api(rows, first),
        runtime=runtime,
    )


def offset_rows(rows: Iterable[RowInput], offset: int) -> Iterator[RowInput]:
    """A file's rows after those already in the campaign (its own numbers when it is first)."""
    for row in rows:
        yield dataclasses.replace(row, row_number=row.row_number + offset)


def add_file_rows(
    session: Session,
    *,
    actor: User,
    campaign_id: int,
    filename: str,
    content_type: str | None,
    stream: IO[bytes],
    runtime: Runtime,
) -> tuple[Campaign, ValidationReport]:
    """Rows of a CSV or XLSX file; the first file of a campaign keeps the spreadsheet's row
    numbers, a later one is numbered after the rows already there."""
    campaign = get_campaign(session, actor=actor, campaign_id=campaign_id)
    offset = last_row_number(session, campaign.id)
    rows = offset_rows(rows_from_upload(filename, content_type, stream), offset)
    return add_rows(session, actor=actor, campaign_id=campaign_id, rows=rows, runtime=runtime)
