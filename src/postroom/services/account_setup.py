"""Saving an account only after its connection test passed (A6); tests on demand; health.

Each operation has three phases: a transaction that validates and works out what to test
(rolled back: a dry run of the real save), the test itself with no transaction open (up to
`account_test_timeout_seconds` of network I/O must not hold database locks or connections),
then a transaction that saves. The last phase re-checks everything, so a concurrent change
between the phases is validated again, never skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from postroom.db.models import Account, User
from postroom.mail.account_probe import AccountTarget
from postroom.mail.oauth import OAuthNetworkError
from postroom.mail.report import AccountTestReport
from postroom.mail.steps import ProgressCallback
from postroom.secrets import Secret
from postroom.services import account_health, accounts, history, oauth_tokens
from postroom.services.account_schemas import AccountCreate, AccountUpdate
from postroom.services.account_test import (
    CONNECTION_FIELDS,
    AccountTestFailedError,
    changed_sides,
    needs_oauth_token,
    probe_target,
    target_of,
    with_oauth_token,
)
from postroom.services.runtime import Runtime

log = logging.getLogger("postroom.account_setup")
T = TypeVar("T")


class Transaction(Protocol):
    """One unit of work: a session scoped to the actor's company, and the actor."""

    @property
    def session(self) -> Session: ...

    @property
    def actor(self) -> User: ...


# Opens a transaction that commits when the block ends without error (API: Caller.begin).
Begin = Callable[[], AbstractContextManager[Transaction]]


class _DryRunEndError(Exception):
    """Ends a dry run: raised out of the transaction so that it rolls back."""


def _dry_run(begin: Begin, build: Callable[[Transaction], T]) -> T:
    """`build`'s result, computed in a transaction that is then rolled back."""
    result: list[T] = []
    try:
        with begin() as tx:
            result.append(build(tx))
            raise _DryRunEndError
    except _DryRunEndError:
        pass
    return result[0]


def target_for_new_settings(
    begin: Begin, runtime: Runtime, *, data: AccountCreate, send_test_message: bool = False
) -> AccountTarget:
    """What to test for settings not saved yet; refuses invalid settings like create would."""
    box = runtime.secret_box

    def build(tx: Transaction) -> AccountTarget:
        account = accounts.create_account(tx.session, actor=tx.actor, data=data, box=box)
        return target_of(account, box, send_test_message=send_test_message)

    return _dry_run(begin, build)


def _probe(
    runtime: Runtime,
    target: AccountTarget,
    account: tuple[int, int] | None = None,
    progress: ProgressCallback | None = None,
) -> AccountTestReport:
    """Run the test; a saved account's (company id, account id) lets OAuth2 logins get a token.
    `progress` gets each probe's report so far after every step (a live view)."""

    async def run() -> AccountTestReport:
        filled = target
        if account is not None and needs_oauth_token(target):
            filled = with_oauth_token(target, await _access_token(runtime, *account))
        account_id = account[1] if account else None
        return await probe_target(filled, runtime.settings, progress, account_id=account_id)

    return asyncio.run(run())


async def _access_token(runtime: Runtime, company_id: int, account_id: int) -> Secret | None:
    try:
        return await oauth_tokens.get_access_token(
            runtime, company_id=company_id, account_id=account_id
        )
    except (oauth_tokens.OAuthNotConnectedError, OAuthNetworkError):
        return None  # the login step then says "sign in with the provider"


def check_new_settings(
    begin: Begin,
    runtime: Runtime,
    *,
    data: AccountCreate,
    send_test_message: bool = False,
    progress: ProgressCallback | None = None,
) -> AccountTestReport:
    """ "Test account" before saving: the report, whether it passed or not; nothing is stored."""
    target = target_for_new_settings(begin, runtime, data=data, send_test_message=send_test_message)
    return _probe(runtime, target, progress=progress)


def check_saved_account(
    begin: Begin,
    runtime: Runtime,
    *,
    account_id: int,
    send_test_message: bool = False,
    progress: ProgressCallback | None = None,
) -> AccountTestReport:
    """Test an account's stored settings; the report and its outcome are kept (health)."""
    with begin() as tx:
        account = accounts.get_usable_account(tx.session, actor=tx.actor, account_id=account_id)
        target = target_of(account, runtime.secret_box, send_test_message=send_test_message)
        company_id = account.company_id
    report = _probe(runtime, target, (company_id, account_id), progress)
    with begin() as tx:
        account = accounts.get_usable_account(tx.session, actor=tx.actor, account_id=account_id)
        account_health.record_test(
            account, report, auth_failure_limit=runtime.settings.account_auth_failure_limit
        )
    return report


def check_changed_settings(
    begin: Begin,
    runtime: Runtime,
    *,
    account_id: int,
    data: AccountUpdate,
    send_test_message: bool = False,
    progress: ProgressCallback | None = None,
) -> AccountTestReport:
    """ "Test account" on a saved account's form: its settings with `data` applied, both sides,
    nothing saved. Without a change of connection settings it is `check_saved_account`."""

    def build(tx: Transaction) -> tuple[AccountTarget, bool, int]:
        current = accounts.get_account(tx.session, actor=tx.actor, account_id=account_id)
        before = history.snapshot(current)
        account = accounts.update_account(
            tx.session, actor=tx.actor, account_id=account_id, data=data, box=runtime.secret_box
        )
        changed = changed_sides(before, history.snapshot(account)).any
        target = target_of(account, runtime.secret_box, send_test_message=send_test_message)
        return target, changed, account.company_id

    target, changed, company_id = _dry_run(begin, build)
    if not changed:
        return check_saved_account(
            begin,
            runtime,
            account_id=account_id,
            send_test_message=send_test_message,
            progress=progress,
        )
    return _probe(runtime, target, (company_id, account_id), progress)


def create_tested_account(begin: Begin, runtime: Runtime, *, data: AccountCreate) -> Account:
    """Create the account if its test passes; otherwise AccountTestFailedError, nothing saved.

    An IMAP account without a Sent folder setting gets the one the test found.
    """
    box = runtime.secret_box
    report = check_new_settings(begin, runtime, data=data)
    if not report.ok:
        raise AccountTestFailedError(report)
    found = report.incoming.sent_folder if report.incoming else None
    if data.sent_folder is None and found:  # where sent copies go (C4), still editable
        data = data.model_copy(update={"sent_folder": found})
    with begin() as tx:
        account = accounts.create_account(tx.session, actor=tx.actor, data=data, box=box)
        account_health.record_test(
            account, report, auth_failure_limit=runtime.settings.account_auth_failure_limit
        )
    return account


def update_tested_account(
    begin: Begin, runtime: Runtime, *, account_id: int, data: AccountUpdate
) -> Account:
    """Change the account; a change of connection settings is tested first, on the side(s) it
    concerns, and refused with AccountTestFailedError (nothing saved) if the test fails."""
    report = None
    if data.model_fields_set & CONNECTION_FIELDS:
        target, company_id = _changed_target(begin, runtime, account_id, data)
        if target is not None:
            report = _probe(runtime, target, (company_id, account_id))
            if not report.ok:
                raise AccountTestFailedError(report)
    with begin() as tx:
        account = accounts.update_account(
            tx.session, actor=tx.actor, account_id=account_id, data=data, box=runtime.secret_box
        )
        if report is not None:
            account_health.record_test(
                account, report, auth_failure_limit=runtime.settings.account_auth_failure_limit
            )
    return account


def _changed_target(
    begin: Begin, runtime: Runtime, account_id: int, data: AccountUpdate
) -> tuple[AccountTarget | None, int]:
    """What the change would make to test (None when no connection setting really changes),
    and the account's company."""
    box = runtime.secret_box

    def build(tx: Transaction) -> tuple[AccountTarget | None, int]:
        current = accounts.get_account(tx.session, actor=tx.actor, account_id=account_id)
        before = history.snapshot(current)
        account = accounts.update_account(
            tx.session, actor=tx.actor, account_id=account_id, data=data, box=box
        )
        sides = changed_sides(before, history.snapshot(account))
        target = target_of(account, box, sides=sides) if sides.any else None
        return target, account.company_id

    return _dry_run(begin, build)
