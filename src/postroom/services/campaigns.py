"""Campaigns (C2): create one from a template version and rows, add rows, read them back.

A campaign is created as a draft: its rows are stored and checked (campaign_checks), and the
validation report says which cannot be sent and why before anything is. Starting it
(campaign_control.start_campaign) hands it to the worker's feeder (campaign_feeder), which
renders each pending row and queues it in the outbox. Who sees a campaign: its creator and
the company's administrators."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.db.models_campaigns import (
    Campaign,
    MessageTemplate,
    SurveyQuestion,
)
from postroom.enums import CampaignKind, CampaignStatus
from postroom.errors import (
    ConflictError,
    NotFoundError,
    ValidationError,
)
from postroom.services import accounts, projects
from postroom.services.campaign_control import start_campaign
from postroom.services.campaign_rows import (
    RowInput,
    check_clients,
    rows_from_api,
    rows_from_clients,
)
from postroom.services.campaign_schemas import CampaignCreate, QuestionIn
from postroom.services.campaign_store import (
    ValidationReport,
    store_rows,
    validation_report,
)
from postroom.services.campaign_templates import check_sender, compile_for, resolve_version
from postroom.services.runtime import Runtime


@dataclass(frozen=True)
class CampaignCreated:
    campaign: Campaign
    report: ValidationReport
    replayed: bool  # the idempotency key named a campaign made earlier: nothing new was made


def _visible(actor: User) -> ColumnElement[bool]:
    return true() if actor.is_admin else Campaign.created_by_user_id == actor.id


def get_campaign(session: Session, *, actor: User, campaign_id: int) -> Campaign:
    row = session.scalar(select(Campaign).where(Campaign.id == campaign_id, _visible(actor)))
    if row is None:
        raise NotFoundError(f"Campaign {campaign_id} does not exist.")
    return row


def list_campaigns(
    session: Session,
    *,
    actor: User,
    status: CampaignStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Campaign], int]:
    """Newest first."""
    conditions = [_visible(actor)]
    if status is not None:
        conditions.append(Campaign.status == status)
    total = session.scalar(select(func.count()).select_from(Campaign).where(*conditions)) or 0
    rows = session.scalars(
        select(Campaign)
        .where(*conditions)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def _check_links(session: Session, actor: User, request: CampaignCreate) -> None:
    if request.template_id is not None and request.template_version_id is not None:
        raise ValidationError.for_field(
            "template_version_id",
            "Give the template or one of its versions, not both.",
            "two_templates",
        )
    if request.project_id is not None:
        try:
            projects.get_project(session, request.project_id)
        except NotFoundError as exc:
            raise ValidationError.for_field("project_id", exc.message, "unknown_project") from exc
    if request.account_id is not None:
        try:
            accounts.get_account(session, actor=actor, account_id=request.account_id)
        except NotFoundError as exc:
            raise ValidationError.for_field("account_id", exc.message, "unknown_account") from exc
    check_clients(session, request.client_ids)
    if request.kind is CampaignKind.SURVEY and not request.questions:
        raise ValidationError.for_field(
            "questions", "A survey needs at least one question.", "questions_required"
        )
    if request.kind is not CampaignKind.SURVEY and request.questions:
        raise ValidationError.for_field(
            "questions", 'Questions belong to a campaign of kind "survey".', "not_a_survey"
        )


def _replay(existing: Campaign, actor: User, request: CampaignCreate) -> Campaign:
    if existing.created_by_user_id != actor.id:
        raise ConflictError(
            "This idempotency key was already used by another user of the company; use a new "
            "key for a new campaign.",
            code="idempotency_key_taken",
        )
    if existing.name != request.name:
        raise ValidationError.for_field(
            "idempotency_key",
            f"This idempotency key was used for another campaign (id {existing.id}); use a new "
            "key for a new campaign.",
            "idempotency_key_reused",
        )
    return existing


def _by_key(session: Session, key: str) -> Campaign | None:
    return session.scalar(select(Campaign).where(Campaign.idempotency_key == key))


def _questions(campaign_id: int, questions: list[QuestionIn]) -> list[SurveyQuestion]:
    return [
        SurveyQuestion(
            campaign_id=campaign_id,
            position=position,
            kind=q.kind,
            text=q.text.strip(),
            options=list(q.options),
            required=q.required,
        )
        for position, q in enumerate(questions, start=1)
    ]


def _insert(session: Session, row: Campaign, key: str | None) -> Campaign | None:
    """The new campaign, or None when a request with the same key committed first."""
    if key is None:
        session.add(row)
        session.flush()
        return row
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        if _by_key(session, key) is None:
            raise
        return None
    return row


def _idempotency_key(request: CampaignCreate, header: str | None) -> str | None:
    if header is not None and request.idempotency_key not in (None, header):
        raise ValidationError.for_field(
            "idempotency_key",
            "The Idempotency-Key header and the idempotency_key field differ; send one.",
            "two_keys",
        )
    key = header if header is not None else request.idempotency_key
    if key is not None and not 0 < len(key) <= 200:
        raise ValidationError.for_field(
            "idempotency_key", "An idempotency key has 1 to 200 characters.", "invalid"
        )
    return key


def create_campaign(
    session: Session,
    *,
    actor: User,
    request: CampaignCreate,
    runtime: Runtime,
    idempotency_key: str | None = None,
) -> CampaignCreated:
    """A draft campaign with its rows stored and checked, started at once when asked and
    allowed. The same idempotency key returns the campaign made the first time, unchanged."""
    key = _idempotency_key(request, idempotency_key)
    if key is not None and (existing := _by_key(session, key)) is not None:
        found = _replay(existing, actor, request)
        return CampaignCreated(found, validation_report(session, found.id), True)
    _check_links(session, actor, request)
    version = resolve_version(session, request)
    template = session.get(MessageTemplate, version.template_id)
    assert template is not None
    check_sender(
        session,
        actor=actor,
        template=template,
        account_id=request.account_id,
        project_id=request.project_id,
        runtime=runtime,
    )
    compiled = compile_for(version, actor, runtime.settings)
    row = Campaign(
        name=request.name,
        kind=request.kind,
        template_version_id=version.id,
        account_id=request.account_id,
        project_id=request.project_id,
        scheduled_at=request.scheduled_at,
        idempotency_key=key,
        created_by_user_id=actor.id,
    )
    campaign = _insert(session, row, key)
    if campaign is None:  # the same key, committed meanwhile by a concurrent request
        found = _replay(_by_key(session, key or "") or row, actor, request)
        return CampaignCreated(found, validation_report(session, found.id), True)
    session.add_all(_questions(campaign.id, request.questions))
    rows: list[Iterable[RowInput]] = [rows_from_api(request.recipients)]
    if request.client_ids:
        rows.append(rows_from_clients(session, request.client_ids, len(request.recipients) + 1))
    for source in rows:
        store_rows(
            session,
            actor=actor,
            campaign=campaign,
            compiled=compiled,
            rows=source,
            settings=runtime.settings,
        )
    if request.start:
        start_campaign(
            session, actor=actor, campaign=campaign, send_valid_only=request.send_valid_only
        )
    return CampaignCreated(campaign, validation_report(session, campaign.id), False)
