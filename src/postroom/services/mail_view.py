"""One received message as a reader sees it: headers, text, safe HTML, attachments; and its
raw bytes or one attachment to download."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy.orm import Session

from postroom.db.models import Account, User
from postroom.db.models_mailbox import MailFolder, MailMessage
from postroom.errors import NotFoundError, PostroomError
from postroom.mail.parse import ParsedMessage, parse_message
from postroom.services import access, mail_actions, mail_parts, mail_reading
from postroom.services.account_setup import Begin
from postroom.services.mail_html import display_html
from postroom.services.runtime import Runtime
from postroom.storage.files import StoredBlobMissingError
from postroom.storage.mailstore import MailStore, mail_store_for

log = logging.getLogger("postroom.mail")
_MAX_SUBJECT_IN_FILENAME = 80


@dataclass(frozen=True)
class AttachmentLine:
    part: int
    filename: str
    content_type: str
    size: int
    inline: bool  # an image the HTML shows in place (cid:): mail programs do not list it


@dataclass(frozen=True)
class MessageView:
    message: MailMessage
    account_email: str
    folder_name: str
    text: str
    html: str | None  # cleaned (services/mail_html.py); None when the message has no HTML
    remote_images: int
    images_loaded: bool
    attachments: list[AttachmentLine]
    missing: bool  # the raw bytes are gone from the store: headers only
    # Unread, and the reader uses the account (E1): reading marks it read. A user who only
    # sees another's account (E2) leaves its unread mail unread.
    to_mark_read: bool


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    data: bytes


def _read(store: MailStore, message: MailMessage) -> bytes | None:
    try:
        return store.read(message.blob_key)
    except StoredBlobMissingError:
        return None


def _parsed(raw: bytes | None) -> ParsedMessage:
    if raw is None:
        return ParsedMessage()
    return parse_message(raw)


def view_message(
    session: Session,
    store: MailStore,
    *,
    actor: User,
    mail_id: int,
    load_images: bool = False,
) -> MessageView:
    """The message for reading. Marking it read is `mark_read`'s, after this transaction."""
    message = mail_reading.get_mail(session, actor=actor, mail_id=mail_id)
    raw = _read(store, message)
    parsed = _parsed(raw)
    html, remote, inline_parts = None, 0, set()
    if parsed.html is not None and raw is not None:
        images = mail_parts.inline_images(mail_parts.parse_raw(raw))
        shown = display_html(
            parsed.html,
            load_remote_images=load_images,
            inline_image=lambda content_id: _data_uri(images, content_id),
        )
        html, remote = shown.html, shown.remote_images
        inline_parts = {images[cid].index for cid in shown.used_content_ids}
    account = session.get(Account, message.account_id)
    folder = session.get(MailFolder, message.folder_id)
    return MessageView(
        message=message,
        account_email=account.email_address if account else "",
        folder_name=folder.name if folder else "",
        text=parsed.text,
        html=html,
        remote_images=remote,
        images_loaded=load_images,
        attachments=_attachment_lines(parsed, inline_parts),
        missing=raw is None,
        to_mark_read=not message.seen
        and account is not None
        and access.can_use(actor, account, access.group_ids_of(session, actor)),
    )


def _data_uri(images: dict[str, mail_parts.InlineImage], content_id: str) -> str | None:
    found = images.get(content_id)
    return found.data_uri if found else None


def _attachment_lines(parsed: ParsedMessage, inline_parts: set[int]) -> list[AttachmentLine]:
    return [
        AttachmentLine(
            part=int(item["part"]),
            filename=str(item.get("filename") or ""),
            content_type=str(item.get("content_type") or "application/octet-stream"),
            size=int(item.get("size") or 0),
            inline=int(item["part"]) in inline_parts,
        )
        for item in parsed.attachments
    ]


def attachment(
    session: Session, store: MailStore, *, actor: User, mail_id: int, part: int
) -> Download:
    """One part's decoded bytes, as listed in the message's attachments (by walk() index)."""
    message = mail_reading.get_mail(session, actor=actor, mail_id=mail_id)
    raw = _read(store, message)
    content = None if raw is None else mail_parts.part_content(mail_parts.parse_raw(raw), part)
    if content is None:
        raise NotFoundError(f"Message {mail_id} has no part {part}.")
    content_type = content.content_type or "application/octet-stream"
    if content_type.startswith("text/") and content.charset:
        content_type += f"; charset={content.charset}"
    filename = mail_parts.download_name(content.filename, content.content_type, f"{mail_id}-{part}")
    return Download(filename=filename, content_type=content_type, data=content.data)


def raw_download_name(message: MailMessage) -> str:
    """The subject as a file name with .eml, the way mail programs save a message."""
    name = mail_parts.safe_filename(" ".join(message.subject.split())[:_MAX_SUBJECT_IN_FILENAME])
    return f"{name}.eml" if name else f"message-{message.id}.eml"


def open_raw(
    session: Session, store: MailStore, *, actor: User, mail_id: int
) -> tuple[BinaryIO, str]:
    """The stored bytes exactly as received (to stream) and a file name for them."""
    message = mail_reading.get_mail(session, actor=actor, mail_id=mail_id)
    try:
        handle = store.open(message.blob_key)
    except StoredBlobMissingError as exc:
        raise NotFoundError(f"The raw message {mail_id} is missing from the store.") from exc
    return handle, raw_download_name(message)


def mark_read(begin: Begin, runtime: Runtime, mail_id: int) -> None:
    """Mark a message read after it was shown: \\Seen on the IMAP server first, then saved
    (services/mail_actions.py). A server that cannot be reached leaves it unread, as the
    server has it; the reader has the message already, so that is only logged."""
    try:
        mail_actions.set_flags(begin, runtime, ids=[mail_id], seen=True)
    except PostroomError as exc:
        log.warning("could not mark a message read", extra={"mail_id": mail_id, "code": exc.code})


def mail_store(runtime: Runtime) -> MailStore:
    return mail_store_for(runtime.settings.data_dir)
