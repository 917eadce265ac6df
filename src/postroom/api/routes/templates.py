"""Templates (C2): company templates with versions, preview, and a test sent to oneself."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import Page
from postroom.api.schemas_messages import MessageAccepted
from postroom.db.models_campaigns import MessageTemplate, TemplateVersion
from postroom.enums import DocumentCategory, DocumentKind
from postroom.services import template_preview, templates
from postroom.services.template_schemas import (
    TemplateCreate,
    TemplatePreview,
    TemplateTestSend,
    TemplateUpdate,
)

router = APIRouter(tags=["templates"])
_TEMPLATE_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Invalid input, or `code` template_error: `errors[].field` names the part "
        "(subject, html, text) and the message its line and variable."
    }
}


class TemplateSummary(BaseModel):
    id: int
    name: str
    document_kind: DocumentKind
    category: DocumentCategory  # what its messages are for the relay rules (B5)
    current_version: int
    subject: str  # of the current version
    archived: bool
    created_by_user_id: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, template: MessageTemplate, subject: str) -> TemplateSummary:
        return cls(
            id=template.id,
            name=template.name,
            document_kind=template.document_kind,
            category=templates.template_category(template),
            current_version=template.current_version,
            subject=subject,
            archived=template.archived,
            created_by_user_id=template.created_by_user_id,
            created_at=template.created_at,
            updated_at=template.updated_at,
        )


class TemplatePublic(TemplateSummary):
    current_version_id: int  # what a campaign names as template_version_id
    html: str
    text: str
    variables: list[str]  # every variable the current version uses

    @classmethod
    def full(cls, found: templates.TemplateWithVersion) -> TemplatePublic:
        version = found.version
        summary = TemplateSummary.of(found.template, version.subject)
        return cls(
            **summary.model_dump(),
            current_version_id=version.id,
            html=version.html,
            text=version.text,
            variables=list(version.variables),
        )


class VersionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int  # the template_version_id of campaigns
    template_id: int
    version: int
    subject: str
    variables: list[str]
    created_by_user_id: int | None
    created_at: datetime


class VersionPublic(VersionSummary):
    html: str
    text: str


class PreviewPublic(BaseModel):
    template_id: int
    version: int
    version_id: int
    subject: str
    html: str  # sanitized, as it would be sent
    text: str  # as written, or made from the HTML


@router.get("/templates", response_model=Page[TemplateSummary])
def list_templates(
    caller: CallerDep,
    archived: Annotated[
        bool | None, Query(description="true: only archived; omit: only those in use.")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[TemplateSummary]:
    with caller.begin() as tx:
        rows, total = templates.list_templates(
            tx.session, archived=bool(archived), limit=limit, offset=offset
        )
        items = [TemplateSummary.of(row.template, row.subject) for row in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "/templates",
    status_code=status.HTTP_201_CREATED,
    response_model=TemplatePublic,
    responses=_TEMPLATE_ERRORS,
)
def create_template(body: TemplateCreate, caller: CallerDep) -> TemplatePublic:
    """A new template; its content is version 1. A syntax error is refused with its line."""
    with caller.begin() as tx:
        return TemplatePublic.full(templates.create_template(tx.session, actor=tx.actor, data=body))


@router.get("/templates/{template_id}", response_model=TemplatePublic)
def get_template(template_id: int, caller: CallerDep) -> TemplatePublic:
    with caller.begin() as tx:
        return TemplatePublic.full(templates.get_with_version(tx.session, template_id))


@router.patch("/templates/{template_id}", response_model=TemplatePublic, responses=_TEMPLATE_ERRORS)
def update_template(template_id: int, body: TemplateUpdate, caller: CallerDep) -> TemplatePublic:
    """Rename, change the kind, archive or restore; a changed subject, HTML or text is saved as
    a new version (earlier versions never change)."""
    with caller.begin() as tx:
        found = templates.update_template(
            tx.session, actor=tx.actor, template_id=template_id, data=body
        )
        return TemplatePublic.full(found)


@router.delete("/templates/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
def archive_template(template_id: int, caller: CallerDep) -> Response:
    """Archive: hidden from the list and from new campaigns; its versions stay, because the
    campaigns that used them refer to them. PATCH {"archived": false} brings it back."""
    with caller.begin() as tx:
        templates.archive_template(tx.session, actor=tx.actor, template_id=template_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/templates/{template_id}/versions", response_model=Page[VersionSummary])
def list_versions(
    template_id: int, caller: CallerDep, limit: Limit = 100, offset: Offset = 0
) -> Page[VersionSummary]:
    """Newest first."""
    with caller.begin() as tx:
        rows, total = templates.list_versions(tx.session, template_id, limit=limit, offset=offset)
        items = [VersionSummary.model_validate(row) for row in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/templates/{template_id}/versions/{version}", response_model=VersionPublic)
def get_version(template_id: int, version: int, caller: CallerDep) -> VersionPublic:
    with caller.begin() as tx:
        row: TemplateVersion = templates.get_version(tx.session, template_id, version)
        return VersionPublic.model_validate(row)


@router.post(
    "/templates/{template_id}/preview", response_model=PreviewPublic, responses=_TEMPLATE_ERRORS
)
def preview_template(template_id: int, body: TemplatePreview, caller: CallerDep) -> PreviewPublic:
    """Render a version for one recipient's variables. A missing variable is a 422 naming the
    part, the line and the variable."""
    with caller.begin() as tx:
        found = template_preview.preview_template(
            tx.session, template_id=template_id, request=body, settings=caller.runtime.settings
        )
        return PreviewPublic(
            template_id=template_id,
            version=found.version.version,
            version_id=found.version.id,
            subject=found.rendered.subject,
            html=found.rendered.html,
            text=found.rendered.text,
        )


@router.post(
    "/templates/{template_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageAccepted,
    responses={
        **_TEMPLATE_ERRORS,
        403: {"description": "A sending rule refuses it; `code` says which (B5, B6)."},
    },
)
def send_test(template_id: int, body: TemplateTestSend, caller: CallerDep) -> MessageAccepted:
    """Render it and queue it to the caller's own address, through the outbox and the sending
    rules a campaign of it would meet; `id` is the outbox message (GET /messages/{id})."""
    with caller.begin() as tx:
        row = template_preview.send_test(
            tx.session,
            actor=tx.actor,
            template_id=template_id,
            request=body,
            runtime=caller.runtime,
        )
        return MessageAccepted.model_validate(row)
