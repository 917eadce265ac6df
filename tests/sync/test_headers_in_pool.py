"""A big fetch parses headers in the parse worker processes: the rows are the same as when
the fetching process parses them, and a pool that dies mid-fetch loses nothing."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import pytest

from postroom.services import parse_pool, sync_imap_download
from postroom.services.runtime import Runtime
from postroom.services.sync_context import Progress
from tests.fixtures.mailenv import MailEnv
from tests.support import Tenant
from tests.sync.support import (
    SMALL,
    append,
    fetch,
    make_account,
    messages,
    new_mailbox,
    other_client,
    stored,
)

POOLED = replace(SMALL, parse_processes=2, headers_in_pool_min_batch=1)


def _same_mail_twice(runtime: Runtime, tenant: Tenant, mailenv: MailEnv) -> tuple[int, int]:
    address = new_mailbox(mailenv)
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", messages(40, to=address), flags="(\\Seen)")
        append(imap, "INBOX", messages(20, start=40, to=address))
    return tuple(make_account(runtime, tenant.company_id, mailenv, address) for _ in range(2))  # type: ignore[return-value]


def _rows(runtime: Runtime, tenant: Tenant, account_id: int) -> list[tuple[object, ...]]:
    return [
        (r.folder, r.uid, r.uidvalidity, r.sha256, r.message_id, r.subject, r.seen, r.flagged)
        for r in stored(runtime, tenant.company_id, account_id)
    ]


def test_headers_parsed_in_the_pool_give_the_same_rows(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, pooled = _same_mail_twice(runtime, tenant, mailenv)
    assert fetch(runtime, tenant.company_id, here).new_messages == 60
    sent: list[object] = []

    async def counted(*args: Any) -> object:
        sent.append(args)
        return await parse_pool.run_in_pool(*args)

    def not_here(*_args: object) -> None:
        raise AssertionError("a batch was parsed in the fetching process")

    monkeypatch.setattr(sync_imap_download, "run_in_pool", counted)
    monkeypatch.setattr(sync_imap_download, "prepare_batch", not_here)
    assert fetch(runtime, tenant.company_id, pooled, options=POOLED).new_messages == 60
    assert len(sent) >= 12  # every batch (5 messages or 256 KB at most) went to the pool
    expected = _rows(runtime, tenant, here)
    assert len(expected) == 60 and _rows(runtime, tenant, pooled) == expected
    assert sum(row[6] for row in expected) == 40


def test_a_pool_killed_mid_fetch_loses_nothing(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    here, pooled = _same_mail_twice(runtime, tenant, mailenv)
    fetch(runtime, tenant.company_id, here)
    killed: list[int] = []

    def kill_once(progress: Progress) -> None:
        pool = parse_pool._pools.get(2)
        if not killed and pool is not None and progress.done >= 10:
            for process in pool._processes.values():
                os.kill(process.pid, 9)
                killed.append(process.pid)

    result = fetch(runtime, tenant.company_id, pooled, options=POOLED, on_progress=kill_once)
    assert killed  # the workers died while batches were still to come
    assert result.error is None and result.new_messages == 60
    assert _rows(runtime, tenant, pooled) == _rows(runtime, tenant, here)
