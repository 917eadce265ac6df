"""One fetch per account at a time (a lease that holds across workers), and resuming after a
fetch died between two batches."""

from __future__ import annotations

import asyncio
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import update

from postroom.db.base import utcnow
from postroom.db.models_mailbox import MailSyncState
from postroom.services.runtime import Runtime
from postroom.services.sync_context import Progress
from postroom.services.sync_run import FetchResult, run_fetch
from tests.fixtures.mailenv import MailEnv
from tests.support import Tenant
from tests.sync.support import (
    SMALL,
    append,
    fetch,
    folders,
    make_account,
    messages,
    new_mailbox,
    other_client,
    state,
    stored,
)


def _account_with_mail(runtime: Runtime, tenant: Tenant, mailenv: MailEnv, count: int) -> int:
    address = new_mailbox(mailenv)
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", messages(count, to=address))
    return make_account(runtime, tenant.company_id, mailenv, address)


class _CrashError(RuntimeError):
    pass


def test_a_fetch_that_dies_between_batches_resumes_without_gaps_or_duplicates(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    account_id = _account_with_mail(runtime, tenant, mailenv, 23)

    def crash_after_two_batches(progress: Progress) -> None:
        if progress.done >= 10:
            raise _CrashError("the worker died here")

    seen: list[Progress] = []
    result = fetch(
        runtime,
        tenant.company_id,
        account_id,
        progress=seen,
        on_progress=crash_after_two_batches,
    )
    assert result.error is not None
    partial = stored(runtime, tenant.company_id, account_id)
    checkpoint = folders(runtime, tenant.company_id, account_id)["INBOX"].synced_uid
    # Two connections download halves of the UID range, so the checkpoint (every UID up to it
    # stored) may trail the rows stored; it never runs ahead of them.
    assert 10 <= len(partial) < 23 and 0 < checkpoint <= len(partial)
    assert all(row.uid is not None and row.uid <= len(partial) + 5 for row in partial)
    assert state(runtime, tenant.company_id, account_id).lock_owner is None

    resumed = fetch(runtime, tenant.company_id, account_id)

    assert resumed.error is None and resumed.new_messages == 23 - len(partial)
    rows = stored(runtime, tenant.company_id, account_id)
    assert sorted(row.uid for row in rows) == list(range(1, 24))
    assert {row.id for row in partial} <= {row.id for row in rows}
    assert all(row.from_history for row in rows)  # the first import is still history


def test_two_fetches_of_one_account_at_once_never_duplicate(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    account_id = _account_with_mail(runtime, tenant, mailenv, 15)

    async def both() -> list[FetchResult]:
        return list(
            await asyncio.gather(
                *(
                    run_fetch(
                        runtime,
                        company_id=tenant.company_id,
                        account_id=account_id,
                        worker_id=f"worker-{n}",
                        options=SMALL,
                    )
                    for n in range(2)
                )
            )
        )

    results = asyncio.run(both())
    assert sorted(r.ran for r in results) == [False, True]
    assert len(stored(runtime, tenant.company_id, account_id)) == 15


def test_workers_in_separate_threads_share_the_lock_through_the_database(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    """Each thread runs its own event loop, as separate worker processes would."""
    account_id = _account_with_mail(runtime, tenant, mailenv, 12)

    def worker(number: int) -> list[FetchResult]:
        results = []
        for _ in range(4):
            results.append(
                asyncio.run(
                    run_fetch(
                        runtime,
                        company_id=tenant.company_id,
                        account_id=account_id,
                        worker_id=f"process-{number}",
                        options=SMALL,
                    )
                )
            )
        return results

    with ThreadPoolExecutor(3) as pool:
        runs = [item for batch in pool.map(worker, range(3)) for item in batch]
    assert any(r.ran for r in runs)
    assert all(r.error is None for r in runs)
    rows = stored(runtime, tenant.company_id, account_id)
    assert Counter(r.uid for r in rows).most_common(1)[0][1] == 1 and len(rows) == 12


def test_a_live_lease_blocks_and_an_expired_one_is_taken_over(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    account_id = _account_with_mail(runtime, tenant, mailenv, 3)
    fetch(runtime, tenant.company_id, account_id)  # creates the state row

    def lease(owner: str, expires_in: timedelta) -> None:
        with runtime.tenant(tenant.company_id) as session:
            session.execute(
                update(MailSyncState)
                .where(MailSyncState.account_id == account_id)
                .values(lock_owner=owner, lock_expires_at=utcnow() + expires_in)
            )

    lease("another-worker:1:abc", timedelta(minutes=5))
    assert not fetch(runtime, tenant.company_id, account_id).ran
    lease("crashed-worker:2:def", timedelta(seconds=-1))  # it died; its lease ran out
    taken = fetch(runtime, tenant.company_id, account_id)
    assert taken.ran and taken.error is None
    assert state(runtime, tenant.company_id, account_id).lock_owner is None


def test_a_fetch_whose_lease_was_taken_over_commits_nothing_more(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    account_id = _account_with_mail(runtime, tenant, mailenv, 20)

    def steal(progress: Progress) -> None:
        if progress.done == 5:  # after the first batch, another worker takes the account
            with runtime.tenant(tenant.company_id) as session:
                session.execute(
                    update(MailSyncState)
                    .where(MailSyncState.account_id == account_id)
                    .values(lock_owner="thief:1:x", lock_expires_at=utcnow() + timedelta(hours=1))
                )

    result = fetch(runtime, tenant.company_id, account_id, on_progress=steal)
    assert result.error == "lock lost"
    assert len(stored(runtime, tenant.company_id, account_id)) == 5
    assert state(runtime, tenant.company_id, account_id).lock_owner == "thief:1:x"


def test_an_empty_mailbox_is_a_successful_first_import(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    account_id = make_account(runtime, tenant.company_id, mailenv, new_mailbox(mailenv))
    result = fetch(runtime, tenant.company_id, account_id)
    assert result.ran and result.error is None and result.new_messages == 0
    assert state(runtime, tenant.company_id, account_id).first_import_done_at is not None
