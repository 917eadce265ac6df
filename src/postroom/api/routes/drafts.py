"""Drafts (C4): POST creates, PUT replaces (the compose window's autosave), send queues it."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import Page
from postroom.api.schemas_messages import DraftPublic, MessageAccepted
from postroom.services import drafts
from postroom.services.message_schemas import DraftWrite

router = APIRouter(tags=["drafts"])


@router.post("/drafts", status_code=status.HTTP_201_CREATED, response_model=DraftPublic)
def create_draft(body: DraftWrite, caller: CallerDep) -> DraftPublic:
    """A new draft; its id is the one to PUT to on every later save."""
    with caller.begin() as tx:
        draft = drafts.create_draft(tx.session, actor=tx.actor, data=body, runtime=caller.runtime)
        return DraftPublic.of(draft)


@router.get("/drafts", response_model=Page[DraftPublic])
def list_drafts(caller: CallerDep, limit: Limit = 50, offset: Offset = 0) -> Page[DraftPublic]:
    """The caller's own drafts, last saved first."""
    with caller.begin() as tx:
        rows, total = drafts.list_drafts(tx.session, actor=tx.actor, limit=limit, offset=offset)
        items = [DraftPublic.of(row) for row in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/drafts/{draft_id}", response_model=DraftPublic)
def get_draft(draft_id: int, caller: CallerDep) -> DraftPublic:
    with caller.begin() as tx:
        return DraftPublic.of(drafts.get_draft(tx.session, actor=tx.actor, draft_id=draft_id))


@router.put("/drafts/{draft_id}", response_model=DraftPublic)
def replace_draft(draft_id: int, body: DraftWrite, caller: CallerDep) -> DraftPublic:
    """Save the whole compose window over the draft; fields left out become empty."""
    with caller.begin() as tx:
        draft = drafts.replace_draft(
            tx.session, actor=tx.actor, draft_id=draft_id, data=body, runtime=caller.runtime
        )
        return DraftPublic.of(draft)


@router.delete("/drafts/{draft_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_draft(draft_id: int, caller: CallerDep) -> Response:
    with caller.begin() as tx:
        drafts.delete_draft(tx.session, actor=tx.actor, draft_id=draft_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/drafts/{draft_id}/send",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageAccepted,
)
def send_draft(draft_id: int, caller: CallerDep) -> MessageAccepted:
    """Queue the draft as a message (checked like POST /messages) and delete the draft.
    Sending it again returns the same message."""
    with caller.begin() as tx:
        message = drafts.send_draft(
            tx.session, actor=tx.actor, draft_id=draft_id, runtime=caller.runtime
        )
        return MessageAccepted.model_validate(message)
