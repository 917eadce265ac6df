"""Actions on received mail (D3): delete to Deleted Items, restore, purge, move, flags.

Each has a one-message form (/mail/{mail_id}/…) and a bulk form taking `ids`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from postroom.api.deps import CallerDep
from postroom.api.schemas_mailbox import MailStatePublic, MailStates, PurgePublic
from postroom.db.models_mailbox import MailMessage
from postroom.services import mail_actions, mail_purge
from postroom.services.mailbox_schemas import (
    MailFlags,
    MailFlagsBulk,
    MailIds,
    MailMove,
    MailMoveOne,
)

router = APIRouter(tags=["mail"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "`purge_not_allowed`: names who may purge."},
    409: {
        "description": "`not_in_deleted_items`, `folder_not_on_server`, "
        "`folder_changed_on_server`, `mail_server_refused` / `mail_server_unavailable`."
    },
}


def _states(messages: Sequence[MailMessage]) -> MailStates:
    return MailStates(items=[MailStatePublic.model_validate(m) for m in messages])


@router.post("/mail/delete", response_model=MailStates, responses=_ERRORS)
def delete_many(body: MailIds, caller: CallerDep) -> MailStates:
    """Move to the account's Deleted Items (on the IMAP server too)."""
    return _states(mail_actions.delete_messages(caller.begin, caller.runtime, ids=body.ids))


@router.post("/mail/{mail_id}/delete", response_model=MailStatePublic, responses=_ERRORS)
def delete_one(mail_id: int, caller: CallerDep) -> MailStatePublic:
    return delete_many(MailIds(ids=[mail_id]), caller).items[0]


@router.post("/mail/restore", response_model=MailStates, responses=_ERRORS)
def restore_many(body: MailIds, caller: CallerDep) -> MailStates:
    """From Deleted Items back to the folder each was deleted from."""
    return _states(mail_actions.restore_messages(caller.begin, caller.runtime, ids=body.ids))


@router.post("/mail/{mail_id}/restore", response_model=MailStatePublic, responses=_ERRORS)
def restore_one(mail_id: int, caller: CallerDep) -> MailStatePublic:
    return restore_many(MailIds(ids=[mail_id]), caller).items[0]


@router.post("/mail/purge", response_model=PurgePublic, responses=_ERRORS)
def purge_many(body: MailIds, caller: CallerDep) -> PurgePublic:
    """Delete for good, from Deleted Items only; needs the "permanently delete mail"
    permission. On the server too when the account's option says so (A7)."""
    result = mail_purge.purge_messages(caller.begin, caller.runtime, ids=body.ids)
    return PurgePublic(purged=result.purged, deleted_on_server=result.deleted_on_server)


@router.post("/mail/{mail_id}/purge", response_model=PurgePublic, responses=_ERRORS)
def purge_one(mail_id: int, caller: CallerDep) -> PurgePublic:
    return purge_many(MailIds(ids=[mail_id]), caller)


@router.post("/mail/move", response_model=MailStates, responses=_ERRORS)
def move_many(body: MailMove, caller: CallerDep) -> MailStates:
    """To another folder of the same account."""
    moved = mail_actions.move_to_folder(
        caller.begin, caller.runtime, ids=body.ids, folder_id=body.folder_id
    )
    return _states(moved)


@router.post("/mail/{mail_id}/move", response_model=MailStatePublic, responses=_ERRORS)
def move_one(mail_id: int, body: MailMoveOne, caller: CallerDep) -> MailStatePublic:
    return move_many(MailMove(ids=[mail_id], folder_id=body.folder_id), caller).items[0]


@router.post("/mail/flags", response_model=MailStates, responses=_ERRORS)
def flag_many(body: MailFlagsBulk, caller: CallerDep) -> MailStates:
    """Read/unread and flagged, written to the IMAP server (UID STORE) and here."""
    changed = mail_actions.set_flags(
        caller.begin, caller.runtime, ids=body.ids, seen=body.seen, flagged=body.flagged
    )
    return _states(changed)


@router.patch("/mail/{mail_id}", response_model=MailStatePublic, responses=_ERRORS)
def flag_one(mail_id: int, body: MailFlags, caller: CallerDep) -> MailStatePublic:
    bulk = MailFlagsBulk(ids=[mail_id], seen=body.seen, flagged=body.flagged)
    return flag_many(bulk, caller).items[0]
