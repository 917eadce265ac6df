"""Mail accounts: CRUD, filtered and paged lists, bulk option changes (A11), history (A10)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import AccountBulkUpdate, AccountChangePublic, AccountPublic, Page
from postroom.enums import IncomingProtocol
from postroom.services import accounts
from postroom.services.account_schemas import AccountCreate, AccountUpdate

router = APIRouter(tags=["accounts"])

OwnerFilter = Annotated[
    str | None,
    Query(
        pattern=r"^(me|company|\d+)$",
        description="me, company, or a user id: whose accounts to list.",
    ),
]


@router.get("/accounts", response_model=Page[AccountPublic])
def list_accounts(
    caller: CallerDep,
    q: Annotated[str | None, Query(max_length=200, description="Part of address or name.")] = None,
    owner: OwnerFilter = None,
    active: bool | None = None,
    project_id: int | None = None,
    incoming_protocol: IncomingProtocol | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AccountPublic]:
    """The accounts the caller may see, ordered by address."""
    filters = accounts.AccountFilter(
        q=q, owner=owner, active=active, project_id=project_id, incoming_protocol=incoming_protocol
    )
    with caller.begin() as tx:
        rows, total = accounts.list_accounts(
            tx.session, actor=tx.actor, filters=filters, limit=limit, offset=offset
        )
        return Page(
            items=[AccountPublic.of(a) for a in rows], total=total, limit=limit, offset=offset
        )


@router.post("/accounts", status_code=status.HTTP_201_CREATED, response_model=AccountPublic)
def create_account(body: AccountCreate, caller: CallerDep) -> AccountPublic:
    """A personal account (owner_user_id) or a company account (no owner; administrators)."""
    with caller.begin() as tx:
        account = accounts.create_account(
            tx.session, actor=tx.actor, data=body, box=caller.runtime.secret_box
        )
        return AccountPublic.of(account)


@router.patch("/accounts", response_model=list[AccountPublic])
def bulk_update_accounts(body: AccountBulkUpdate, caller: CallerDep) -> list[AccountPublic]:
    """Set the same options on many accounts at once; all change or none does (A11)."""
    with caller.begin() as tx:
        changed = accounts.bulk_update_options(
            tx.session, actor=tx.actor, account_ids=body.account_ids, options=body.options
        )
        return [AccountPublic.of(a) for a in changed]


@router.get("/accounts/{account_id}", response_model=AccountPublic)
def get_account(account_id: int, caller: CallerDep) -> AccountPublic:
    with caller.begin() as tx:
        return AccountPublic.of(
            accounts.get_account(tx.session, actor=tx.actor, account_id=account_id)
        )


@router.patch("/accounts/{account_id}", response_model=AccountPublic)
def update_account(account_id: int, body: AccountUpdate, caller: CallerDep) -> AccountPublic:
    """Change the fields sent; passwords: a string sets, null clears, absent keeps."""
    with caller.begin() as tx:
        account = accounts.update_account(
            tx.session,
            actor=tx.actor,
            account_id=account_id,
            data=body,
            box=caller.runtime.secret_box,
        )
        return AccountPublic.of(account)


@router.delete("/accounts/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_account(account_id: int, caller: CallerDep) -> Response:
    with caller.begin() as tx:
        accounts.delete_account(tx.session, actor=tx.actor, account_id=account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/accounts/{account_id}/history", response_model=Page[AccountChangePublic])
def account_history(
    account_id: int, caller: CallerDep, limit: Limit = 100, offset: Offset = 0
) -> Page[AccountChangePublic]:
    """Who changed what and when, newest first; secrets appear only as "changed"."""
    with caller.begin() as tx:
        rows, total = accounts.account_history(
            tx.session, actor=tx.actor, account_id=account_id, limit=limit, offset=offset
        )
        return Page(
            items=[AccountChangePublic.model_validate(c) for c in rows],
            total=total,
            limit=limit,
            offset=offset,
        )
