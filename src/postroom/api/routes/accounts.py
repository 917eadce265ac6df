"""Mail accounts: CRUD, filtered and paged lists, bulk option changes (A11), history (A10)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import (
    AccountBulkUpdate,
    AccountChangePublic,
    AccountPublic,
    AccountTestOptions,
    AccountTestReportPublic,
    AccountTestRequest,
    Page,
)
from postroom.enums import IncomingProtocol
from postroom.errors import NotFoundError
from postroom.services import account_setup, accounts
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


@router.post(
    "/accounts",
    status_code=status.HTTP_201_CREATED,
    response_model=AccountPublic,
    responses={409: {"description": "account_test_failed: `report` says which step and why."}},
)
def create_account(body: AccountCreate, caller: CallerDep) -> AccountPublic:
    """A personal account (owner_user_id) or a company account (no owner; administrators).

    The settings are tested first (outgoing and incoming); if a step fails, nothing is saved.
    """
    account = account_setup.create_tested_account(caller.begin, caller.runtime, data=body)
    return AccountPublic.of(account)


@router.post("/accounts/test", response_model=AccountTestReportPublic)
def check_account_settings(body: AccountTestRequest, caller: CallerDep) -> dict[str, Any]:
    """Test settings without saving them ("Test account"): every step, passed or not."""
    data = AccountCreate.model_validate(body.model_dump(exclude={"send_test_message"}))
    report = account_setup.check_new_settings(
        caller.begin, caller.runtime, data=data, send_test_message=body.send_test_message
    )
    return report.as_dict()


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


@router.patch(
    "/accounts/{account_id}",
    response_model=AccountPublic,
    responses={409: {"description": "account_test_failed: `report` says which step and why."}},
)
def update_account(account_id: int, body: AccountUpdate, caller: CallerDep) -> AccountPublic:
    """Change the fields sent; passwords: a string sets, null clears, absent keeps.

    Changed connection settings are tested first; if a step fails, nothing is saved.
    """
    account = account_setup.update_tested_account(
        caller.begin, caller.runtime, account_id=account_id, data=body
    )
    return AccountPublic.of(account)


@router.post("/accounts/{account_id}/test", response_model=AccountTestReportPublic)
def check_saved_account(
    account_id: int, caller: CallerDep, body: AccountTestOptions | None = None
) -> dict[str, Any]:
    """Test the stored settings; the outcome counts for the account's health."""
    report = account_setup.check_saved_account(
        caller.begin,
        caller.runtime,
        account_id=account_id,
        send_test_message=body.send_test_message if body else False,
    )
    return report.as_dict()


@router.get("/accounts/{account_id}/test", response_model=AccountTestReportPublic)
def last_test_report(account_id: int, caller: CallerDep) -> dict[str, Any]:
    """The report of the account's last test (when saving it, or on demand)."""
    with caller.begin() as tx:
        account = accounts.get_account(tx.session, actor=tx.actor, account_id=account_id)
        if account.last_test_report is None:
            raise NotFoundError(f"Account {account_id} has not been tested yet.")
        return account.last_test_report


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
