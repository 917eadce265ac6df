"""The worker process runs delivery next to its periodic jobs and stops cleanly."""

from __future__ import annotations

import asyncio
import dataclasses

from postroom.enums import MessageStatus
from postroom.services.runtime import Runtime
from postroom.worker.delivery import make_worker_id, run_delivery
from postroom.worker.loop import run_worker
from tests.fixtures.scripted_smtp import scripted_smtp
from tests.support import Tenant
from tests.worker.outbox_support import FAST, enqueue, load, make_account


async def _until_sent(runtime: Runtime, tenant: Tenant, mid: int) -> None:
    for _ in range(200):
        if load(runtime, tenant.company_id, mid).status is MessageStatus.SENT:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not sent")


async def test_the_worker_delivers_while_it_runs(runtime: Runtime, tenant: Tenant) -> None:
    async with scripted_smtp() as server:
        account = make_account(runtime, tenant.company_id, smtp_port=server.port)
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(runtime, stop, jobs=()))
        mid = enqueue(runtime, tenant.company_id, account, ["anna@klient.test"])
        await _until_sent(runtime, tenant, mid)
        stop.set()
        await asyncio.wait_for(worker, timeout=10)
    assert len(server.received) == 1


async def test_stopping_finishes_the_message_under_way(runtime: Runtime, tenant: Tenant) -> None:
    async with scripted_smtp() as server:
        account = make_account(runtime, tenant.company_id, smtp_port=server.port)
        ids = [
            enqueue(runtime, tenant.company_id, account, ["anna@klient.test"]) for _ in range(30)
        ]
        stop = asyncio.Event()
        options = dataclasses.replace(FAST, connections_per_route=1)
        task = asyncio.create_task(run_delivery(runtime, stop, options=options))
        while not server.received:
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    statuses = [load(runtime, tenant.company_id, i).status for i in ids]
    # Whatever the server accepted is recorded as sent; the rest went back to the queue.
    assert statuses.count(MessageStatus.SENT) == len(server.received)
    assert set(statuses) <= {MessageStatus.SENT, MessageStatus.QUEUED}
    assert all(load(runtime, tenant.company_id, i).lease_owner is None for i in ids)


def test_worker_ids_name_host_process_and_a_random_part() -> None:
    host, pid, random = make_worker_id().split(":")
    assert host and pid.isdigit() and len(random) == 8
    assert make_worker_id() != make_worker_id()
