"""Fetching an account's mail: "fetch now" and the fetch's state and progress (D1)."""

from __future__ import annotations

from fastapi import APIRouter, status

from postroom.api.deps import CallerDep
from postroom.api.schemas_sync import SyncStatePublic
from postroom.services import accounts, sync_schedule
from postroom.services.sync_progress import read_status

router = APIRouter(tags=["receiving"])


@router.post(
    "/accounts/{account_id}/fetch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SyncStatePublic,
    responses={
        409: {
            "description": "no_incoming_server, account_inactive or account_needs_attention: "
            "the account is not fetched; `detail` says why."
        }
    },
)
def fetch_now(account_id: int, caller: CallerDep) -> SyncStatePublic:
    """Fetch the account's mail as soon as a worker can ("Fetch now"). Answers at once; the
    fetch's progress is at GET /accounts/{id}/sync."""
    with caller.begin() as tx:
        account = accounts.get_account(tx.session, actor=tx.actor, account_id=account_id)
        sync_schedule.request_fetch(tx.session, account)
        tx.session.flush()
        state = SyncStatePublic.of(read_status(tx.session, account))
    sync_schedule.notify_requested(account_id)  # after the commit: the worker sees the request
    return state


@router.get("/accounts/{account_id}/sync", response_model=SyncStatePublic)
def sync_state(account_id: int, caller: CallerDep) -> SyncStatePublic:
    """The account's fetching: phase and progress of the running fetch, the last fetch, the
    last error in the server's words, the next scheduled fetch."""
    with caller.begin() as tx:
        account = accounts.get_account(tx.session, actor=tx.actor, account_id=account_id)
        return SyncStatePublic.of(read_status(tx.session, account))
