"""Drafts (C4): what a compose window holds, saved on close and every few seconds; its user's."""

# A draft is not checked as a message is (half-typed addresses are normal while writing); it
# is checked when sent, by the same path as any message. Only the account and project it
# names must exist and be the user's to use, because the IMAP drafts folder is the account's.

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import User
from postroom.db.models_outbox import Draft, OutboxMessage
from postroom.errors import NotFoundError, ValidationError
from postroom.services import access, accounts, messages
from postroom.services.message_schemas import DraftWrite, MessageCreate
from postroom.services.runtime import Runtime

# The draft's own columns; everything else is its content.
_COLUMNS = {"account_id", "project_id"}


def _content(data: DraftWrite, max_bytes: int) -> dict[str, Any]:
    content = data.model_dump(mode="json", exclude=_COLUMNS)
    if len(json.dumps(content)) > max_bytes:
        field = "html" if len(data.html or "") >= len(data.text or "") else "text"
        raise ValidationError.for_field(
            field, f"The draft is larger than {max_bytes} bytes, the largest message.", "too_large"
        )
    return content


def _check_account(session: Session, actor: User, data: DraftWrite) -> None:
    messages.check_links(session, actor, data)
    if data.account_id is None:
        return
    account = accounts.get_account(session, actor=actor, account_id=data.account_id)
    if not access.can_use(actor, account, access.group_ids_of(session, actor)):
        raise ValidationError.for_field(
            "account_id",
            f"You may not send from {account.email_address}; choose another account.",
            "account_not_usable",
        )


def _apply(session: Session, actor: User, draft: Draft, data: DraftWrite, runtime: Runtime) -> None:
    _check_account(session, actor, data)
    draft.account_id = data.account_id
    draft.project_id = data.project_id
    draft.content = _content(data, runtime.settings.max_message_bytes)


def create_draft(session: Session, *, actor: User, data: DraftWrite, runtime: Runtime) -> Draft:
    draft = Draft(user_id=actor.id)
    _apply(session, actor, draft, data, runtime)
    session.add(draft)
    session.flush()
    return draft


def replace_draft(
    session: Session, *, actor: User, draft_id: int, data: DraftWrite, runtime: Runtime
) -> Draft:
    """The whole draft is replaced: fields left out are emptied, as the window holds them."""
    draft = get_draft(session, actor=actor, draft_id=draft_id)
    _apply(session, actor, draft, data, runtime)
    session.flush()
    return draft


def _users_draft(actor: User, draft_id: int) -> ColumnElement[bool]:
    return and_(Draft.id == draft_id, Draft.user_id == actor.id, Draft.deleted_at.is_(None))


def get_draft(session: Session, *, actor: User, draft_id: int) -> Draft:
    """Only the draft's user sees it, administrators included: a draft is not yet a message."""
    draft = session.scalar(select(Draft).where(_users_draft(actor, draft_id)))
    if draft is None:
        raise NotFoundError(f"Draft {draft_id} does not exist.")
    return draft


def list_drafts(
    session: Session, *, actor: User, limit: int = 50, offset: int = 0
) -> tuple[list[Draft], int]:
    mine = and_(Draft.user_id == actor.id, Draft.deleted_at.is_(None))
    total = session.scalar(select(func.count()).select_from(Draft).where(mine)) or 0
    rows = session.scalars(
        select(Draft)
        .where(mine)
        .order_by(Draft.updated_at.desc(), Draft.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def delete_draft(session: Session, *, actor: User, draft_id: int) -> None:
    _discard(session, get_draft(session, actor=actor, draft_id=draft_id))


def _discard(session: Session, draft: Draft) -> None:
    """Gone for its user at once; a draft bound to an account stays as a tombstone until the
    worker has removed its copy from the account's IMAP drafts folder (draft_store.py)."""
    if draft.account_id is None:
        session.delete(draft)
        return
    draft.deleted_at = utcnow()
    draft.content = {}


def fields_of(draft: Draft) -> DraftWrite:
    """The draft as the compose window wrote it."""
    return DraftWrite.model_validate(
        {**draft.content, "account_id": draft.account_id, "project_id": draft.project_id}
    )


def _sent_key(draft_id: int) -> str:
    return f"draft:{draft_id}"


def send_draft(session: Session, *, actor: User, draft_id: int, runtime: Runtime) -> OutboxMessage:
    """Queue the draft as a message and delete it, in one transaction.

    Sending again (a retried request whose answer was lost) returns the same message: the
    draft's id is the message's idempotency key.
    """
    draft = session.scalar(select(Draft).where(_users_draft(actor, draft_id)))
    if draft is None:
        sent = session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.idempotency_key == _sent_key(draft_id),
                OutboxMessage.created_by_user_id == actor.id,
            )
        )
        if sent is None:
            raise NotFoundError(f"Draft {draft_id} does not exist.")
        return sent
    fields = fields_of(draft).model_dump()
    request = MessageCreate.model_validate({**fields, "idempotency_key": _sent_key(draft_id)})
    message = messages.submit_message(session, actor=actor, request=request, runtime=runtime)
    _discard(session, draft)
    return message
