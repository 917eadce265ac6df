"""Changing a campaign before it starts: its name, sender, project and schedule; its rows
cleared to start the list again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.db.models_campaigns import Campaign, CampaignRecipient, MessageTemplate
from postroom.errors import NotFoundError, ValidationError
from postroom.services import accounts, projects
from postroom.services.campaign_store import require_draft
from postroom.services.campaign_templates import check_sender, template_of
from postroom.services.runtime import Runtime

_UNSET = object()


@dataclass(frozen=True)
class TemplateChoice:
    id: int
    name: str
    document_kind: str


def template_choices(session: Session, limit: int = 1000) -> list[TemplateChoice]:
    """The company's templates a campaign may use (not archived), by name."""
    rows = session.scalars(
        select(MessageTemplate)
        .where(MessageTemplate.archived.is_(False))
        .order_by(MessageTemplate.name)
        .limit(limit)
    )
    return [TemplateChoice(t.id, t.name, t.document_kind.value) for t in rows]


def _checked_links(
    session: Session, actor: User, account_id: int | None, project_id: int | None
) -> None:
    if project_id is not None:
        try:
            projects.get_project(session, project_id)
        except NotFoundError as exc:
            raise ValidationError.for_field("project_id", exc.message, "unknown_project") from exc
    if account_id is not None:
        try:
            accounts.get_account(session, actor=actor, account_id=account_id)
        except NotFoundError as exc:
            raise ValidationError.for_field("account_id", exc.message, "unknown_account") from exc


def update_draft(
    session: Session,
    *,
    actor: User,
    campaign: Campaign,
    runtime: Runtime,
    name: str | None = None,
    account_id: int | object | None = _UNSET,
    project_id: int | object | None = _UNSET,
    scheduled_at: datetime | object | None = _UNSET,
) -> Campaign:
    """Change what is given (None for account or project: the sending rules choose / no
    project); the sender is checked against the rules as at creation."""
    require_draft(campaign)
    if name is not None:
        campaign.name = name.strip() or campaign.name
    new_account = campaign.account_id if account_id is _UNSET else account_id
    new_project = campaign.project_id if project_id is _UNSET else project_id
    assert new_account is None or isinstance(new_account, int)
    assert new_project is None or isinstance(new_project, int)
    if (new_account, new_project) != (campaign.account_id, campaign.project_id):
        _checked_links(session, actor, new_account, new_project)
        template, _ = template_of(session, campaign)
        check_sender(
            session,
            actor=actor,
            template=template,
            account_id=new_account,
            project_id=new_project,
            runtime=runtime,
        )
        campaign.account_id, campaign.project_id = new_account, new_project
    if scheduled_at is not _UNSET:
        assert scheduled_at is None or isinstance(scheduled_at, datetime)
        campaign.scheduled_at = scheduled_at
    session.flush()
    return campaign


def clear_rows(session: Session, *, campaign: Campaign) -> int:
    """Remove every row of a draft (a wrong file uploaded); how many went."""
    require_draft(campaign)
    result = session.execute(
        delete(CampaignRecipient)
        .where(CampaignRecipient.campaign_id == campaign.id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
