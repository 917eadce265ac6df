"""The outbox queue: leases, take-over after a dead worker, SKIP LOCKED, limits, release."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from postroom.autoconfig.presets import bundled_presets
from postroom.db.base import utcnow
from postroom.db.models_outbox import OutboxMessage
from postroom.enums import MessageStatus
from postroom.services.outbox import ClaimedMessage, claim_due, release
from postroom.services.runtime import Runtime
from tests.fixtures.scripted_smtp import scripted_smtp
from tests.support import Tenant
from tests.worker.outbox_support import enqueue, load, make_account, run_engine_async

TO = ["anna@klient.test"]


def _claim(
    runtime: Runtime,
    worker: str,
    *,
    limit: int = 100,
    lease: float = 60,
    at: datetime | None = None,
) -> list[ClaimedMessage]:
    with runtime.platform() as session:
        return claim_due(
            session, worker_id=worker, now=at or utcnow(), limit=limit, lease_seconds=lease
        )


async def test_a_dead_workers_message_is_taken_over_after_its_lease(
    runtime: Runtime, tenant: Tenant
) -> None:
    async with scripted_smtp() as server:
        account = make_account(runtime, tenant.company_id, smtp_port=server.port)
        mid = enqueue(runtime, tenant.company_id, account, TO)
        # A worker claims it and dies (kill -9) before sending: the row stays SENDING.
        assert [m.id for m in _claim(runtime, "dead:1:x", lease=30)] == [mid]
        assert load(runtime, tenant.company_id, mid).status is MessageStatus.SENDING
        assert _claim(runtime, "live:2:y") == []  # leased: nobody else takes it
        later = _claim(runtime, "live:2:y", at=utcnow() + timedelta(seconds=31))
        assert [m.id for m in later] == [mid]  # the lease expired: taken over
        with runtime.tenant(tenant.company_id) as session:  # give it back to send it for real
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == mid)
                .values(lease_expires_at=utcnow() - timedelta(seconds=1))
            )
        await run_engine_async(runtime)
    message = load(runtime, tenant.company_id, mid)
    assert message.status is MessageStatus.SENT and message.lease_owner is None
    assert len(server.received) == 1


def test_claims_span_companies_and_lease_each_message_once(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    ours = enqueue(runtime, tenant.company_id, None, TO, via_relay=True)
    theirs = enqueue(runtime, other_tenant.company_id, None, TO, via_relay=True)
    claimed = _claim(runtime, "w:1:a")
    assert {(m.id, m.company_id) for m in claimed} == {
        (ours, tenant.company_id),
        (theirs, other_tenant.company_id),
    }
    assert _claim(runtime, "w:2:b") == []


def test_release_gives_messages_back(runtime: Runtime, tenant: Tenant) -> None:
    mid = enqueue(runtime, tenant.company_id, None, TO, via_relay=True)
    _claim(runtime, "w:1:a")
    with runtime.platform() as session:
        assert release(session, worker_id="w:2:b", message_ids=[mid], now=utcnow()) == 0
        assert release(session, worker_id="w:1:a", message_ids=[mid], now=utcnow()) == 1
    message = load(runtime, tenant.company_id, mid)
    assert message.status is MessageStatus.QUEUED and message.lease_owner is None
    assert [m.id for m in _claim(runtime, "w:2:b")] == [mid]


async def test_a_rate_limit_holds_messages_back(runtime: Runtime, tenant: Tenant) -> None:
    async with scripted_smtp() as server:
        account = make_account(
            runtime, tenant.company_id, smtp_port=server.port, send_limit_per_minute=2
        )
        ids = [enqueue(runtime, tenant.company_id, account, TO) for _ in range(5)]
        await run_engine_async(runtime)
        messages = [load(runtime, tenant.company_id, i) for i in ids]
    assert [m.status for m in messages].count(MessageStatus.SENT) == 2
    held = [m for m in messages if m.status is not MessageStatus.SENT]
    assert len(held) == 3 and len(server.received) == 2
    for message in held:
        assert message.status is MessageStatus.QUEUED and message.attempts == []
        assert message.next_attempt_at > utcnow() + timedelta(seconds=30)


def _sent_an_hour_ago(runtime: Runtime, company_id: int, ids: list[int]) -> None:
    with runtime.tenant(company_id) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(status=MessageStatus.SENT, sent_at=utcnow() - timedelta(hours=1))
        )


def test_a_providers_daily_limit_counts_the_last_day(runtime: Runtime, tenant: Tenant) -> None:
    gmail = next(p for p in bundled_presets() if p.id == "gmail")
    limited = dataclasses.replace(
        gmail, id="limited", domains=("limited.test",), daily_send_limit=2
    )
    account = make_account(runtime, tenant.company_id, email_address="biuro@limited.test")
    _sent_an_hour_ago(
        runtime, tenant.company_id, [enqueue(runtime, tenant.company_id, account, TO) for _ in "ab"]
    )
    waiting = enqueue(runtime, tenant.company_id, account, TO)
    with runtime.platform() as session:
        claimed = claim_due(
            session, worker_id="w", now=utcnow(), limit=10, lease_seconds=60, presets=(limited,)
        )
    assert claimed == []
    message = load(runtime, tenant.company_id, waiting)
    assert message.status is MessageStatus.QUEUED
    # Room again when the older of the two sent an hour ago is a day old.
    assert timedelta(hours=22) < message.next_attempt_at - utcnow() < timedelta(hours=24)


@pytest.mark.parametrize("claimers", [2])
def test_concurrent_claimers_never_take_the_same_row(
    runtime: Runtime, tenant: Tenant, claimers: int
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite runs one worker")
    ids = {enqueue(runtime, tenant.company_id, None, TO, via_relay=True) for _ in range(60)}
    # A holds its claim transaction open while B claims: B must skip A's locked rows.
    first_locked, second_done = threading.Event(), threading.Event()
    taken: dict[str, list[int]] = {}

    def hold_open() -> None:
        with runtime.platform() as session:
            taken["a"] = [
                m.id
                for m in claim_due(session, worker_id="a", now=utcnow(), limit=20, lease_seconds=60)
            ]
            first_locked.set()
            second_done.wait(10)

    holder = threading.Thread(target=hold_open)
    holder.start()
    assert first_locked.wait(10)
    taken["b"] = [m.id for m in _claim(runtime, "b", limit=100)]
    second_done.set()
    holder.join(10)
    assert len(taken["a"]) == 20 and len(taken["b"]) == 40
    assert not set(taken["a"]) & set(taken["b"])
    assert set(taken["a"]) | set(taken["b"]) == ids


def test_many_concurrent_claims_partition_the_queue(runtime: Runtime, tenant: Tenant) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite runs one worker")
    ids = {enqueue(runtime, tenant.company_id, None, TO, via_relay=True) for _ in range(300)}

    async def claimer(name: str) -> list[int]:
        got: list[int] = []
        while batch := await asyncio.to_thread(_claim, runtime, name, limit=7):
            got += [m.id for m in batch]
        return got

    async def both() -> list[list[int]]:
        return list(await asyncio.gather(*(claimer(f"w{i}") for i in range(4))))

    results = asyncio.run(both())
    flat = [i for r in results for i in r]
    assert len(flat) == len(set(flat)) == len(ids) and set(flat) == ids
