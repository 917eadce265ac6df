"""What a caller sends to write a template, preview it or send a test of it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from postroom.enums import DocumentKind, Language
from postroom.services.message_schemas import AttachmentRef
from postroom.services.template_render import MAX_SOURCE_CHARS

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Subject = Annotated[str, Field(min_length=1, max_length=MAX_SOURCE_CHARS["subject"])]
Body = Annotated[str, Field(max_length=MAX_SOURCE_CHARS["html"])]
SUBJECT_DOC = 'One line, e.g. "Faktura {{ invoice_no }}"; line breaks are refused.'


def _one_line(value: str | None) -> str | None:
    # The subject becomes a header: a line break in its source is never what was meant.
    if value is not None and ("\r" in value or "\n" in value):
        raise ValueError("the subject is one line: remove the line breaks")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateCreate(_Strict):
    """A new template; its content becomes version 1."""

    name: Name
    document_kind: DocumentKind = Field(
        default=DocumentKind.OTHER,
        description="What it produces; its category decides the relay rules (B5).",
    )
    subject: Subject = Field(description=SUBJECT_DOC)
    html: Body = Field(default="", description="The HTML body (Jinja2); sanitized once rendered.")
    text: Body = Field(default="", description="The text body; empty: made from the HTML.")

    @field_validator("subject")
    @classmethod
    def _subject_is_one_line(cls, value: str | None) -> str | None:
        return _one_line(value)


class TemplateUpdate(_Strict):
    """Changed fields only. A changed subject, HTML or text makes a new version."""

    name: Name | None = None
    document_kind: DocumentKind | None = None
    subject: Subject | None = Field(default=None, description=SUBJECT_DOC)
    html: Body | None = None
    text: Body | None = None
    archived: bool | None = Field(default=None, description="false brings an archived one back.")

    @field_validator("subject")
    @classmethod
    def _subject_is_one_line(cls, value: str | None) -> str | None:
        return _one_line(value)


class TemplatePreview(_Strict):
    """Render a version (default: the current one) with these variables."""

    variables: dict[str, Any] = Field(
        default_factory=dict, description='One recipient\'s data, e.g. {"invoice_no": "FV/1"}.'
    )
    version: int | None = Field(default=None, ge=1)
    language: Language = Field(
        default=Language.PL, description="The default locale of the money and date filters."
    )


class TemplateTestSend(TemplatePreview):
    """Render it and send it to the caller's own address through the outbox."""

    account_id: int | None = Field(
        default=None, description="Send from this account; by default the rules of B1–B4 pick."
    )
    project_id: int | None = None
    use_relay: bool = False
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=20)
