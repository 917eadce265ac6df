"""Fetching from the command line: find an account by id across companies, ask, follow."""

from __future__ import annotations

from postroom.db.models import Account
from postroom.errors import NotFoundError
from postroom.services import sync_schedule
from postroom.services.runtime import Runtime
from postroom.services.sync_progress import SyncStatus, read_status


def company_of_account(runtime: Runtime, account_id: int) -> int:
    """The company an account id belongs to (the operator's command names no company)."""
    with runtime.platform() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFoundError(f"Account {account_id} does not exist.")
        return account.company_id


def request_fetch(runtime: Runtime, company_id: int, account_id: int) -> None:
    """Ask for a fetch (refused with a reason for inactive accounts and the like)."""
    with runtime.tenant(company_id) as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFoundError(f"Account {account_id} does not exist.")
        sync_schedule.request_fetch(session, account)
    sync_schedule.notify_requested(account_id)


def status_of(runtime: Runtime, company_id: int, account_id: int) -> SyncStatus:
    with runtime.tenant(company_id) as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFoundError(f"Account {account_id} does not exist.")
        return read_status(session, account)
