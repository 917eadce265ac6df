"""A campaign's template: the version it records, parsed once, and what its messages are
for the sending rules (B5)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.models import User
from postroom.db.models_campaigns import Campaign, MessageTemplate, TemplateVersion
from postroom.enums import DocumentKind
from postroom.errors import RefusalReason, SendingRefusedError, ValidationError
from postroom.services import routing, template_render, templates
from postroom.services.campaign_schemas import CampaignCreate
from postroom.services.runtime import Runtime
from postroom.services.template_render import CompiledTemplate


@dataclass(frozen=True)
class SendAs:
    """What the campaign's messages are, for the sending rules (B5): kind and template origin."""

    document_kind: DocumentKind
    from_own_template: bool


def send_as(template: MessageTemplate) -> SendAs:
    """A document made from the company's own template counts as such for the relay (B5); a
    plain newsletter (kind "other") is not a document at all (templates.template_category)."""
    return SendAs(template.document_kind, templates.from_own_template(template))


def compile_for(version: TemplateVersion, actor: User, settings: Settings) -> CompiledTemplate:
    """The version parsed once, with the render limits of the settings; amounts and dates in
    the campaign creator's language."""
    return template_render.compile_version(
        version, language=actor.language, limits=template_render.limits_from(settings)
    )


def template_of(session: Session, campaign: Campaign) -> tuple[MessageTemplate, TemplateVersion]:
    version = session.get(TemplateVersion, campaign.template_version_id)
    assert version is not None  # RESTRICT: a version in use is never deleted
    template = session.get(MessageTemplate, version.template_id)
    assert template is not None
    return template, version


def resolve_version(session: Session, request: CampaignCreate) -> TemplateVersion:
    if request.template_version_id is not None:
        version = session.get(TemplateVersion, request.template_version_id)
        if version is None:
            raise ValidationError.for_field(
                "template_version_id",
                f"Template version {request.template_version_id} does not exist.",
                "unknown_template",
            )
        return version
    if request.template_id is None:
        raise ValidationError.for_field(
            "template_id", "Give the template (template_id or template_version_id).", "required"
        )
    template = session.get(MessageTemplate, request.template_id)
    if template is None or template.archived:
        raise ValidationError.for_field(
            "template_id",
            f"Template {request.template_id} does not exist or is archived.",
            "unknown_template",
        )
    current = session.scalar(
        select(TemplateVersion).where(
            TemplateVersion.template_id == template.id,
            TemplateVersion.version == template.current_version,
        )
    )
    if current is None:
        raise ValidationError.for_field(
            "template_id", f"Template {template.id} has no saved content.", "unknown_template"
        )
    return current


def check_sender(
    session: Session,
    *,
    actor: User,
    template: MessageTemplate,
    account_id: int | None,
    project_id: int | None,
    runtime: Runtime,
) -> routing.SenderChoice | None:
    """Refuse now what the sending rules would refuse for every row (e-mail off, an account
    not theirs, the relay without verification). The relay's document limit is not one of
    them: it is applied per message as the feeder queues them (B5)."""
    what = send_as(template)
    try:
        return routing.choose_sender(
            session,
            actor=actor,
            project_id=project_id,
            account_id=account_id,
            document_kind=what.document_kind,
            from_own_template=what.from_own_template,
            settings=runtime.settings,
        )
    except SendingRefusedError as exc:
        if exc.reason is RefusalReason.RELAY_LIMIT_REACHED:
            return None
        raise
