"""Folders of an account (D2): listed with counts; created, renamed and deleted on the server."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from postroom.api.deps import CallerDep
from postroom.api.schemas_mailbox import FolderPublic
from postroom.services import folders
from postroom.services.mailbox_schemas import FolderCreate, FolderUpdate

router = APIRouter(tags=["folders"])

_SERVER_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "`mail_server_refused` / `mail_server_unavailable` (the server's words), "
        "`folder_exists`, `special_folder`, `folder_not_empty`, `folder_has_subfolders`."
    }
}


def _view(caller: CallerDep, account_id: int, folder_id: int) -> FolderPublic:
    with caller.begin() as tx:
        views = folders.list_folders(tx.session, actor=tx.actor, account_id=account_id)
        return FolderPublic.of(next(v for v in views if v.folder.id == folder_id))


@router.get("/accounts/{account_id}/folders", response_model=list[FolderPublic])
def list_folders(account_id: int, caller: CallerDep) -> list[FolderPublic]:
    """Inbox, Drafts, Sent, …, Deleted Items first, then the others by path; with counts."""
    with caller.begin() as tx:
        views = folders.list_folders(tx.session, actor=tx.actor, account_id=account_id)
        return [FolderPublic.of(view) for view in views]


@router.post(
    "/accounts/{account_id}/folders",
    status_code=status.HTTP_201_CREATED,
    response_model=FolderPublic,
    responses=_SERVER_ERRORS,
)
def create_folder(account_id: int, body: FolderCreate, caller: CallerDep) -> FolderPublic:
    """On the IMAP server first (POP3 accounts: in Postroom only)."""
    folder = folders.create_folder(caller.begin, caller.runtime, account_id=account_id, data=body)
    return _view(caller, account_id, folder.id)


@router.patch("/folders/{folder_id}", response_model=FolderPublic, responses=_SERVER_ERRORS)
def update_folder(folder_id: int, body: FolderUpdate, caller: CallerDep) -> FolderPublic:
    """Rename and/or move under another parent (`parent_id` null: top level); subfolders
    move along. Inbox, Sent, Drafts and Deleted Items cannot be renamed."""
    folder = folders.rename_folder(caller.begin, caller.runtime, folder_id=folder_id, data=body)
    return _view(caller, folder.account_id, folder.id)


@router.delete(
    "/folders/{folder_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_SERVER_ERRORS
)
def delete_folder(folder_id: int, caller: CallerDep) -> Response:
    """Only an empty folder without subfolders, and not Inbox, Sent, Drafts or Deleted Items."""
    folders.delete_folder(caller.begin, caller.runtime, folder_id=folder_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
