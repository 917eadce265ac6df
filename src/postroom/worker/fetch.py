"""The worker's receiving side: due fetches run concurrently (bounded), and IMAP IDLE push.

Fetches are found by a poll of the database (`due_fetches`), woken early by "fetch now"
in the same process and by IDLE watchers. Every fetch takes the account's lease first
(services/sync_lock.py), so several workers never fetch one account at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from postroom.services import sync_schedule
from postroom.services.runtime import Runtime
from postroom.services.sync_run import FetchResult, run_fetch
from postroom.services.sync_schedule import DueFetch
from postroom.worker.delivery import make_worker_id
from postroom.worker.idle import IdleWatchers

log = logging.getLogger("postroom.worker.fetch")
STOP_GRACE_SECONDS = 30.0


@dataclass
class FetchLoop:
    runtime: Runtime
    worker_id: str
    concurrency: int
    poll_seconds: float
    running: dict[int, asyncio.Task[FetchResult]] = field(default_factory=dict)
    again: set[int] = field(default_factory=set)  # changed during their fetch: fetch again
    queued: dict[int, DueFetch] = field(default_factory=dict)  # triggered while all were busy
    chores: set[asyncio.Task[None]] = field(default_factory=set)  # small writes under way
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def trigger(self, due: DueFetch) -> None:
        """Fetch the account now (IDLE saw a change); after the running fetch if there is one."""
        if due.account_id in self.running:
            self.again.add(due.account_id)
        elif len(self.running) < self.concurrency:
            self._start(due)
        else:
            self.queued[due.account_id] = due
            self.wake.set()

    def _start(self, due: DueFetch) -> None:
        task = asyncio.create_task(
            run_fetch(
                self.runtime,
                company_id=due.company_id,
                account_id=due.account_id,
                worker_id=self.worker_id,
            )
        )
        self.running[due.account_id] = task
        task.add_done_callback(lambda done: self._finished(due, done))

    def _finished(self, due: DueFetch, task: asyncio.Task[FetchResult]) -> None:
        self.running.pop(due.account_id, None)
        again = due.account_id in self.again
        self.again.discard(due.account_id)
        ran = not task.cancelled() and task.exception() is None and task.result().ran
        if again and ran:
            self.trigger(due)
        elif again:  # another worker holds the account: it fetches again after its fetch
            chore = asyncio.create_task(asyncio.to_thread(self._mark_requested, due))
            self.chores.add(chore)
            chore.add_done_callback(self.chores.discard)
        self.wake.set()

    def _mark_requested(self, due: DueFetch) -> None:
        with self.runtime.tenant(due.company_id) as session:
            sync_schedule.mark_requested(session, due.account_id)

    def _due(self, limit: int) -> list[DueFetch]:
        with self.runtime.platform() as session:
            return sync_schedule.due_fetches(session, limit=limit)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()

        def requested(_account_id: int) -> None:  # called from API threads
            loop.call_soon_threadsafe(self.wake.set)

        sync_schedule.add_request_listener(requested)
        try:
            while not stop.is_set():
                self.wake.clear()
                await self._start_due()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_seconds):
                        await _first(stop.wait(), self.wake.wait())
        finally:
            sync_schedule.remove_request_listener(requested)
            await self._stop()

    async def _start_due(self) -> None:
        while self.queued and len(self.running) < self.concurrency:
            _account_id, waiting = self.queued.popitem()
            self.trigger(waiting)
        free = self.concurrency - len(self.running)
        if free <= 0:
            return
        try:
            due = await asyncio.to_thread(self._due, free + len(self.running))
        except Exception:  # a database outage: try again at the next poll
            log.exception("looking for due fetches failed")
            return
        for item in due:
            if len(self.running) >= self.concurrency:
                break
            if item.account_id not in self.running:
                self._start(item)

    async def _stop(self) -> None:
        """Let fetches under way finish their batch; cancel them after a grace period (their
        checkpoints make the next fetch resume where they stopped)."""
        tasks = list(self.running.values())
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _first(*waits: Coroutine[Any, Any, Any]) -> None:
    """Wait until the first of `waits` is done; the others are cancelled."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


async def run_fetching(
    runtime: Runtime, stop: asyncio.Event, *, worker_id: str | None = None
) -> None:
    """Fetch due accounts and watch IMAP inboxes with IDLE until `stop` is set."""
    settings = runtime.settings
    fetches = FetchLoop(
        runtime,
        worker_id or make_worker_id(),
        concurrency=settings.fetch_concurrency,
        poll_seconds=settings.fetch_poll_seconds,
    )
    watchers = IdleWatchers(
        runtime, fetches.trigger, limit=settings.fetch_idle_max_accounts, owner=fetches.worker_id
    )
    log.info("fetching started", extra={"worker": fetches.worker_id, "idle": settings.fetch_idle})
    tasks = [asyncio.create_task(fetches.run(stop))]
    if settings.fetch_idle:
        tasks.append(asyncio.create_task(watchers.run(stop)))
    await asyncio.gather(*tasks)
    log.info("fetching stopped", extra={"worker": fetches.worker_id})
