"""Trying a template out: render it for given variables, or send it to oneself (C2)."""

# "Send a test to me" goes through the same outbox, sender rules and relay limits as any
# message made from the template, so what the test shows (including a refusal of the relay
# for an unverified company, B5) is what a campaign will meet.

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.models import User
from postroom.db.models_campaigns import TemplateVersion
from postroom.db.models_outbox import OutboxMessage
from postroom.enums import Language
from postroom.services import messages, templates
from postroom.services.message_schemas import MessageCreate
from postroom.services.runtime import Runtime
from postroom.services.template_render import (
    RenderedMessage,
    compile_sources,
    compile_version,
    limits_from,
    render,
)
from postroom.services.template_schemas import TemplatePreview, TemplateTestSend


@dataclass(frozen=True)
class Preview:
    version: TemplateVersion
    rendered: RenderedMessage


def preview_template(
    session: Session, *, template_id: int, request: TemplatePreview, settings: Settings
) -> Preview:
    """The version asked for (default: current) rendered with `request.variables`; a missing
    variable or any other template error is a TemplateRenderError (422) naming part and line."""
    version = templates.get_version(session, template_id, request.version)
    compiled = compile_version(version, language=request.language, limits=limits_from(settings))
    return Preview(version, render(compiled, request.variables))


def preview_sources(
    subject: str,
    html: str,
    text: str,
    variables: Mapping[str, Any],
    *,
    language: Language,
    settings: Settings,
) -> RenderedMessage:
    """Content not saved yet (the editor's live preview), rendered the same way."""
    compiled = compile_sources(subject, html, text, language=language, limits=limits_from(settings))
    return render(compiled, variables)


def send_test(
    session: Session, *, actor: User, template_id: int, request: TemplateTestSend, runtime: Runtime
) -> OutboxMessage:
    """Queue the rendered template to the caller's own address, from the sender the rules
    choose, as the same kind of document a campaign of it would be."""
    template = templates.get_template(session, template_id)
    found = preview_template(
        session, template_id=template_id, request=request, settings=runtime.settings
    )
    rendered = found.rendered
    message = MessageCreate(
        to=[actor.email],
        subject=rendered.subject,
        html=rendered.html or None,
        text=rendered.text or None,
        attachments=request.attachments,
        document_kind=template.document_kind,
        from_own_template=templates.from_own_template(template),
        project_id=request.project_id,
        account_id=request.account_id,
        use_relay=request.use_relay,
    )
    return messages.submit_message(session, actor=actor, request=message, runtime=runtime)
