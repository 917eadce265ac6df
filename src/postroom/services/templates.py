"""Company templates (C2): create, change (each content change is a new, immutable version),
list, archive; which document category their messages are for the relay rules (B5)."""

# Versions are never changed or deleted: a campaign records the version it used, so what was
# sent can always be shown. A template is archived rather than deleted for the same reason.
# Every user of the company may read, write and use templates (they are the company's
# documents); archiving one is for its author and the administrators.

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, load_only

from postroom.db.models import User
from postroom.db.models_campaigns import MessageTemplate, TemplateVersion
from postroom.enums import DOCUMENT_CATEGORIES, DocumentCategory
from postroom.errors import NotFoundError, PermissionDeniedError, ValidationError
from postroom.services import relay
from postroom.services.guards import add_unique, get_or_404
from postroom.services.template_render import compile_sources
from postroom.services.template_schemas import TemplateCreate, TemplateUpdate

_CONTENT = ("subject", "html", "text")


@dataclass(frozen=True)
class TemplateWithVersion:
    template: MessageTemplate
    version: TemplateVersion  # the current one


@dataclass(frozen=True)
class TemplateListItem:
    template: MessageTemplate
    subject: str  # of the current version


def template_category(template: MessageTemplate) -> DocumentCategory:
    """What a message made from `template` is for the relay rules (B5): a document made from
    the company's own template (HR documents stay HR), or, for kind "other", no document."""
    if DOCUMENT_CATEGORIES[template.document_kind] is DocumentCategory.NONE:
        return DocumentCategory.NONE
    return relay.effective_category(template.document_kind, from_own_template=True)


def from_own_template(template: MessageTemplate) -> bool:
    """The `from_own_template` flag of the messages made from `template` (see above)."""
    return template_category(template) is not DocumentCategory.NONE


def _check_content(subject: str, html: str, text: str) -> list[str]:
    """The variables the content uses; a syntax error is a TemplateRenderError (422)."""
    if not html.strip() and not text.strip():
        raise ValidationError.for_field(
            "html", "Write an HTML body, a text body, or both.", "body_required"
        )
    return list(compile_sources(subject, html, text).variables)


def _save(session: Session, template: MessageTemplate) -> MessageTemplate:
    return add_unique(
        session,
        template,
        f"A template named {template.name!r} already exists; choose another name.",
        "name_taken",
    )


def create_template(session: Session, *, actor: User, data: TemplateCreate) -> TemplateWithVersion:
    variables = _check_content(data.subject, data.html, data.text)
    template = _save(
        session,
        MessageTemplate(
            name=data.name,
            document_kind=data.document_kind,
            current_version=1,
            created_by_user_id=actor.id,
        ),
    )
    version = TemplateVersion(
        template_id=template.id,
        version=1,
        subject=data.subject,
        html=data.html,
        text=data.text,
        variables=variables,
        created_by_user_id=actor.id,
    )
    session.add(version)
    session.flush()
    return TemplateWithVersion(template, version)


def get_template(session: Session, template_id: int) -> MessageTemplate:
    return get_or_404(session, MessageTemplate, template_id, "Template")


def get_version(session: Session, template_id: int, number: int | None = None) -> TemplateVersion:
    """Version `number` of the template, or its current one."""
    template = get_template(session, template_id)
    wanted = template.current_version if number is None else number
    version = session.scalar(
        select(TemplateVersion).where(
            TemplateVersion.template_id == template.id, TemplateVersion.version == wanted
        )
    )
    if version is None:
        raise NotFoundError(f"Template {template_id} has no version {wanted}.")
    return version


def get_with_version(session: Session, template_id: int) -> TemplateWithVersion:
    return TemplateWithVersion(
        get_template(session, template_id), get_version(session, template_id)
    )


def list_templates(
    session: Session, *, archived: bool | None = False, limit: int = 100, offset: int = 0
) -> tuple[list[TemplateListItem], int]:
    """By name; `archived` None lists both."""
    conditions = [] if archived is None else [MessageTemplate.archived.is_(archived)]
    total = session.scalar(select(func.count()).select_from(MessageTemplate).where(*conditions))
    rows = session.execute(
        select(MessageTemplate, TemplateVersion.subject)
        .join(
            TemplateVersion,
            (TemplateVersion.template_id == MessageTemplate.id)
            & (TemplateVersion.version == MessageTemplate.current_version),
        )
        .where(*conditions)
        .order_by(MessageTemplate.name, MessageTemplate.id)
        .limit(limit)
        .offset(offset)
    )
    return [TemplateListItem(template, subject) for template, subject in rows], total or 0


def list_versions(
    session: Session, template_id: int, *, limit: int = 100, offset: int = 0
) -> tuple[list[TemplateVersion], int]:
    """Newest first, without their bodies."""
    template = get_template(session, template_id)
    condition = TemplateVersion.template_id == template.id
    total = session.scalar(select(func.count()).select_from(TemplateVersion).where(condition))
    rows = session.scalars(
        select(TemplateVersion)
        .options(
            load_only(
                TemplateVersion.id,
                TemplateVersion.template_id,
                TemplateVersion.version,
                TemplateVersion.subject,
                TemplateVersion.variables,
                TemplateVersion.created_by_user_id,
                TemplateVersion.created_at,
            )
        )
        .where(condition)
        .order_by(TemplateVersion.version.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


def _require_author_or_admin(actor: User, template: MessageTemplate, action: str) -> None:
    if not actor.is_admin and template.created_by_user_id != actor.id:
        raise PermissionDeniedError(
            f"Only the template's author or a company administrator may {action} it."
        )


def _next_version_number(session: Session, template: MessageTemplate) -> int:
    """Take the next number atomically: the UPDATE holds the template's row (PostgreSQL) or the
    database (SQLite) until commit, so two saves at once get different numbers."""
    number = session.scalar(
        update(MessageTemplate)
        .where(MessageTemplate.id == template.id)
        .values(current_version=MessageTemplate.current_version + 1)
        .returning(MessageTemplate.current_version),
        execution_options={"synchronize_session": False},
    )
    assert number is not None
    session.refresh(template, ["current_version", "updated_at"])
    return int(number)


def _new_version(
    session: Session,
    actor: User,
    template: MessageTemplate,
    current: TemplateVersion,
    data: TemplateUpdate,
) -> TemplateVersion | None:
    given = {name: getattr(data, name) for name in _CONTENT}
    content = {
        name: given[name] if given[name] is not None else getattr(current, name)
        for name in _CONTENT
    }
    if all(content[name] == getattr(current, name) for name in _CONTENT):
        return None  # saving unchanged content makes no version
    variables = _check_content(content["subject"], content["html"], content["text"])
    version = TemplateVersion(
        template_id=template.id,
        version=_next_version_number(session, template),
        variables=variables,
        created_by_user_id=actor.id,
        **content,
    )
    session.add(version)
    session.flush()
    return version


def update_template(
    session: Session, *, actor: User, template_id: int, data: TemplateUpdate
) -> TemplateWithVersion:
    template = get_template(session, template_id)
    current = get_version(session, template_id)
    if data.archived is not None and data.archived != template.archived:
        _require_author_or_admin(actor, template, "archive or restore")
        template.archived = data.archived
    if data.name is not None:
        template.name = data.name
    if data.document_kind is not None:
        template.document_kind = data.document_kind
    _save(session, template)
    version = _new_version(session, actor, template, current, data)
    return TemplateWithVersion(template, version or current)


def archive_template(session: Session, *, actor: User, template_id: int) -> None:
    """Hidden from the list and from new campaigns; its versions stay for the campaigns that
    used them."""
    template = get_template(session, template_id)
    _require_author_or_admin(actor, template, "archive")
    template.archived = True
