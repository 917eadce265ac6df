"""Which accounts are due for a fetch: interval, requests, inactive and needs-attention
accounts, held leases, and the backoff after failures (in the server's words)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.enums import IncomingProtocol
from postroom.mail.errors import MailConnectionError, ServerRefusedError
from postroom.services import sync_lock, sync_schedule
from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.support import Tenant
from tests.sync.support import make_account


def _account(runtime: Runtime, tenant: Tenant, mailenv: MailEnv, **fields: object) -> int:
    address = f"konto-{uuid.uuid4().hex[:8]}@example.test"  # never connected to
    return make_account(runtime, tenant.company_id, mailenv, address, **fields)


def _due(runtime: Runtime, now: datetime | None = None) -> list[int]:
    with runtime.platform() as session:
        return [d.account_id for d in sync_schedule.due_fetches(session, now=now)]


def test_what_is_due(runtime: Runtime, tenant: Tenant, mailenv: MailEnv) -> None:
    imap = _account(runtime, tenant, mailenv)
    pop3 = _account(runtime, tenant, mailenv, protocol=IncomingProtocol.POP3)
    inactive = _account(runtime, tenant, mailenv, active=False)
    attention = _account(runtime, tenant, mailenv, needs_attention=True)
    smtp_only = _account(runtime, tenant, mailenv, incoming_protocol=IncomingProtocol.NONE)

    due = _due(runtime)
    assert imap in due and pop3 in due  # never fetched: due at once
    assert not {inactive, attention, smtp_only} & set(due)

    with runtime.tenant(tenant.company_id) as session:
        for account_id in (imap, pop3):
            account = session.get(Account, account_id)
            assert account is not None
            state = sync_lock.ensure_state(session, account)
            sync_schedule.record_fetch_done(account, state, started_at=utcnow(), new_messages=0)
    assert not {imap, pop3} & set(_due(runtime))
    later = utcnow() + timedelta(minutes=6)  # the default interval is 5 minutes
    assert {imap, pop3} <= set(_due(runtime, now=later))

    with runtime.tenant(tenant.company_id) as session:  # "fetch now" comes first
        account = session.get(Account, pop3)
        assert account is not None
        sync_schedule.request_fetch(session, account)
    assert _due(runtime)[0] == pop3

    with runtime.tenant(tenant.company_id) as session:  # being fetched: not due
        assert sync_lock.try_acquire(session, account_id=pop3, owner="w:1:a", lease_seconds=60)
    assert pop3 not in _due(runtime)
    assert pop3 in _due(runtime, now=utcnow() + timedelta(seconds=61))  # the lease ran out


def test_failures_back_off_and_login_refusals_end_in_needs_attention(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    account_id = _account(runtime, tenant, mailenv, fetch_interval_minutes=10)
    refused = ServerRefusedError(
        "NO [AUTHENTICATIONFAILED] Authentication failed.", command="login (PLAIN)"
    )
    delays = []
    with runtime.tenant(tenant.company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None
        state = sync_lock.ensure_state(session, account)
        for error in (MailConnectionError("Connection refused."), refused, refused):
            now = utcnow()
            sync_schedule.record_fetch_failed(
                account, state, started_at=now, error=error, auth_failure_limit=2, now=now
            )
            assert state.next_fetch_at is not None
            delays.append(round((state.next_fetch_at - now).total_seconds() / 60))
        assert delays == [10, 20, 40]  # the interval, doubled per failure in a row
        assert account.last_error == "NO [AUTHENTICATIONFAILED] Authentication failed."
        assert account.needs_attention and state.phase == "failed"
    assert account_id not in _due(runtime, now=utcnow() + timedelta(days=1))
