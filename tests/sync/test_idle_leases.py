"""One IDLE watcher per account across workers: leases claimed, renewed, released, taken over."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.db.models_mailbox import MailSyncState
from postroom.enums import AuthMethod, IncomingProtocol, Security
from postroom.services.idle_leases import claim_idle, release_idle
from postroom.services.runtime import Runtime
from postroom.services.sync_lock import ensure_state
from tests.support import Tenant

LEASE = 90.0
_numbers = itertools.count()


def _accounts(
    runtime: Runtime, tenant: Tenant, count: int, *, fetched: bool = True, **fields: object
) -> list[int]:
    ids = []
    with runtime.tenant(tenant.company_id) as session:
        for _ in range(count):
            index = next(_numbers)
            account = Account(
                email_address=f"idle{index}@alfa.example.test",
                smtp_host="smtp.alfa.example.test",
                smtp_port=587,
                incoming_protocol=IncomingProtocol.IMAP,
                incoming_host="imap.alfa.example.test",
                incoming_port=993,
                incoming_security=Security.TLS,
                incoming_auth=AuthMethod.PASSWORD,
                incoming_username=f"idle{index}@alfa.example.test",
                **fields,
            )
            session.add(account)
            session.flush()
            if fetched:
                ensure_state(session, account)  # made by the first fetch
            ids.append(account.id)
    return ids


def _claim(
    runtime: Runtime, owner: str, limit: int = 100, now: datetime | None = None
) -> list[int]:
    with runtime.platform() as session:
        claimed = claim_idle(session, owner=owner, limit=limit, lease_seconds=LEASE, now=now)
    return [due.account_id for due in claimed]


def test_each_account_is_watched_by_one_worker(runtime: Runtime, tenant: Tenant) -> None:
    ids = _accounts(runtime, tenant, 5)
    first = _claim(runtime, "worker-a", limit=3)
    second = _claim(runtime, "worker-b")
    assert first == ids[:3] and second == ids[3:]
    # A refresh renews the worker's own leases and takes nothing of the other's.
    assert _claim(runtime, "worker-a", limit=3) == ids[:3]
    assert _claim(runtime, "worker-b") == ids[3:]
    with runtime.platform() as session:
        owners = {s.account_id: s.idle_owner for s in session.query(MailSyncState)}
    assert owners == {**dict.fromkeys(ids[:3], "worker-a"), **dict.fromkeys(ids[3:], "worker-b")}


def test_a_dead_workers_accounts_are_taken_over_when_its_leases_expire(
    runtime: Runtime, tenant: Tenant
) -> None:
    ids = _accounts(runtime, tenant, 2)
    assert _claim(runtime, "worker-a") == ids
    assert _claim(runtime, "worker-b") == []
    later = utcnow() + timedelta(seconds=LEASE + 1)
    assert _claim(runtime, "worker-b", now=later) == ids


def test_a_stopping_worker_releases_its_accounts_at_once(runtime: Runtime, tenant: Tenant) -> None:
    ids = _accounts(runtime, tenant, 3)
    assert _claim(runtime, "worker-a") == ids
    with runtime.platform() as session:
        release_idle(session, owner="worker-a", keep={ids[0]})
    assert _claim(runtime, "worker-b") == ids[1:]
    with runtime.platform() as session:
        release_idle(session, owner="worker-a")
    assert _claim(runtime, "worker-b") == ids


def test_only_watchable_accounts_are_claimed(runtime: Runtime, tenant: Tenant) -> None:
    watched = _accounts(runtime, tenant, 1)
    _accounts(runtime, tenant, 1, active=False)
    _accounts(runtime, tenant, 1, needs_attention=True)
    with runtime.tenant(tenant.company_id) as session:
        no_idle = _accounts(runtime, tenant, 1)[0]
        session.get(MailSyncState, no_idle).supports_idle = False  # type: ignore[union-attr]
    assert _claim(runtime, "worker-a") == watched


def test_a_new_account_is_watched_before_its_first_fetch(runtime: Runtime, tenant: Tenant) -> None:
    ids = _accounts(runtime, tenant, 2, fetched=False)
    assert _claim(runtime, "worker-a") == ids
    assert _claim(runtime, "worker-b") == []


def test_workers_claiming_at_the_same_moment_never_share_an_account(
    runtime: Runtime, tenant: Tenant
) -> None:
    ids = _accounts(runtime, tenant, 40)
    start = threading.Barrier(4)
    claimed: dict[str, list[int]] = {}

    def claim(owner: str) -> None:
        start.wait()
        claimed[owner] = _claim(runtime, owner, limit=25)

    threads = [threading.Thread(target=claim, args=(f"worker-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [account for owned in claimed.values() for account in owned]
    assert len(every) == len(set(every))  # no account twice
    # What a race left unclaimed goes at the next refresh: 4 × 25 places for 40 accounts.
    for owner in sorted(claimed):
        claimed[owner] = _claim(runtime, owner, limit=25)
    every = [account for owned in claimed.values() for account in owned]
    assert len(every) == len(set(every)) and set(every) == set(ids)
