"""Response bodies of the received-mail API: folders, message summaries, one message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from postroom.db.models_mailbox import MailMessage
from postroom.enums import FolderRole
from postroom.services.mail_reading import FolderCounts
from postroom.services.mail_view import MessageView


class MailFolderPublic(BaseModel):
    id: int
    account_id: int
    account_email: str
    path: str = Field(description="The server's folder name, e.g. INBOX/Faktury.")
    name: str = Field(description="The last part of the path, for display.")
    delimiter: str | None
    parent_path: str | None = Field(description="The folder this one is inside, if any.")
    depth: int
    role: FolderRole
    selectable: bool
    is_local: bool = Field(description="Kept only in Postroom (POP3, or gone from the server).")
    total: int
    unread: int
    last_synced_at: datetime | None

    @classmethod
    def of(cls, row: FolderCounts) -> MailFolderPublic:
        folder = row.folder
        return cls(
            id=folder.id,
            account_id=folder.account_id,
            account_email=row.account_email,
            path=folder.path,
            name=folder.name,
            delimiter=folder.delimiter,
            parent_path=row.parent_path,
            depth=row.depth,
            role=folder.role,
            selectable=folder.selectable,
            is_local=folder.is_local,
            total=row.total,
            unread=row.unread,
            last_synced_at=folder.last_synced_at,
        )


class MailAddress(BaseModel):
    name: str
    address: str


def _addresses(entries: list[dict[str, str]]) -> list[MailAddress]:
    return [MailAddress(name=e.get("name", ""), address=e.get("address", "")) for e in entries]


class MailSummary(BaseModel):
    id: int
    account_id: int
    folder_id: int
    subject: str
    from_name: str
    from_address: str
    to: list[MailAddress]
    date: datetime = Field(description="The Date header, else when the server received it.")
    size: int = Field(description="Bytes of the raw message.")
    seen: bool
    flagged: bool
    answered: bool
    has_attachments: bool
    snippet: str = Field(description="The start of the text; empty until the body is indexed.")

    @classmethod
    def of(cls, row: MailMessage) -> MailSummary:
        return cls.model_validate(_summary_fields(row))


def _summary_fields(row: MailMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "account_id": row.account_id,
        "folder_id": row.folder_id,
        "subject": row.subject,
        "from_name": row.from_name,
        "from_address": row.from_address,
        "to": _addresses(row.to_addresses),
        "date": row.sort_date,
        "size": row.size,
        "seen": row.seen,
        "flagged": row.flagged,
        "answered": row.answered,
        "has_attachments": row.has_attachments,
        "snippet": row.snippet,
    }


class MailAttachmentPublic(BaseModel):
    part: int = Field(description="Its number in the message: GET …/attachments/{part}.")
    filename: str
    content_type: str
    size: int
    inline: bool = Field(description="An image the HTML shows in place (cid:).")


class MailMessagePublic(MailSummary):
    account_email: str
    folder_name: str
    cc: list[MailAddress]
    reply_to: list[MailAddress]
    message_id: str | None = Field(description="The Message-ID header, without <>.")
    in_reply_to: str | None
    references: list[str]
    sent_date: datetime | None
    internal_date: datetime | None
    text: str = Field(description="The plain-text body (from the HTML when it has no text).")
    html: str | None = Field(
        description="The HTML body, cleaned: no scripts, forms or event handlers; remote "
        "images replaced by a placeholder unless load_images=true; cid: images inline as "
        "data: URIs. Show it in a sandboxed frame all the same."
    )
    remote_images: int = Field(description="Remote images (and CSS backgrounds) in the HTML.")
    images_loaded: bool
    attachments: list[MailAttachmentPublic]
    raw_missing: bool = Field(description="The stored raw message is gone: headers only.")
    parse_defects: list[str]

    @classmethod
    def of_view(cls, view: MessageView) -> MailMessagePublic:
        row = view.message
        return cls(
            **_summary_fields(row),
            account_email=view.account_email,
            folder_name=view.folder_name,
            cc=_addresses(row.cc_addresses),
            reply_to=_addresses(row.reply_to),
            message_id=row.message_id_header,
            in_reply_to=row.in_reply_to,
            references=(row.references or "").split(),
            sent_date=row.sent_date,
            internal_date=row.internal_date,
            text=view.text,
            html=view.html,
            remote_images=view.remote_images,
            images_loaded=view.images_loaded,
            attachments=[
                MailAttachmentPublic(
                    part=a.part,
                    filename=a.filename,
                    content_type=a.content_type,
                    size=a.size,
                    inline=a.inline,
                )
                for a in view.attachments
            ],
            raw_missing=view.missing,
            parse_defects=row.parse_defects or [],
        )


class MailThread(BaseModel):
    items: list[MailSummary] = Field(description="The thread's messages, oldest first.")
