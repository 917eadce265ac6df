"""IDLE watchers: one IMAP connection per account waits in its INBOX and triggers a fetch on change.

The set of watched accounts is refreshed from the database every half minute: new IMAP
accounts get a watcher, inactive or changed ones lose it. Each account is watched by one
worker only: the refresh claims and renews IDLE leases (services/idle_leases.py), and a
stopping worker releases its own so that another takes them over at its next refresh. A
broken connection is retried with a growing pause; a server without IDLE is noted and left
to the schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from postroom.services import idle_leases, sync_schedule
from postroom.services.runtime import Runtime
from postroom.services.sync_idle import IdleNotSupportedError, watch_inbox, watched_account
from postroom.services.sync_schedule import DueFetch

log = logging.getLogger("postroom.worker.idle")
REFRESH_SECONDS = 30.0
FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 300.0
STABLE_SECONDS = 60.0  # a watcher that ran this long before failing starts its pauses anew
START_SPACING_SECONDS = 0.01  # logins spread out a little when hundreds start at once


@dataclass
class IdleWatchers:
    runtime: Runtime
    on_change: Callable[[DueFetch], None]
    limit: int
    owner: str  # this worker, as the IDLE leases name it
    refresh_seconds: float = REFRESH_SECONDS
    watchers: dict[int, asyncio.Task[None]] = field(default_factory=dict)

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self.refresh()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.refresh_seconds)
        finally:
            tasks = list(self.watchers.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.watchers.clear()
            try:
                await asyncio.to_thread(self._release)
            except Exception:  # the leases then expire on their own
                log.exception("releasing IDLE leases failed")

    @property
    def lease_seconds(self) -> float:
        # Three refreshes: a slow refresh or two never lose a lease; a dead worker's accounts
        # are watched again within this time plus one refresh of another worker.
        return 3 * self.refresh_seconds

    def _candidates(self) -> list[DueFetch]:
        with self.runtime.platform() as session:
            return idle_leases.claim_idle(
                session, owner=self.owner, limit=self.limit, lease_seconds=self.lease_seconds
            )

    def _release(self) -> None:
        with self.runtime.platform() as session:
            idle_leases.release_idle(session, owner=self.owner)

    async def refresh(self) -> None:
        try:
            wanted = {due.account_id: due for due in await asyncio.to_thread(self._candidates)}
        except Exception:  # a database outage: keep the watchers as they are
            log.exception("looking for accounts to watch failed")
            return
        for account_id, task in list(self.watchers.items()):
            if account_id not in wanted or task.done():
                task.cancel()
                del self.watchers[account_id]
        for account_id, due in wanted.items():
            if account_id not in self.watchers:
                self.watchers[account_id] = asyncio.create_task(self._watch(due))
                await asyncio.sleep(START_SPACING_SECONDS)

    async def _changed(self, due: DueFetch) -> None:
        self.on_change(due)

    async def _watch(self, due: DueFetch) -> None:
        pause = FIRST_RETRY_SECONDS
        while True:
            account = await asyncio.to_thread(
                watched_account, self.runtime, due.company_id, due.account_id
            )
            if account is None:
                return
            started = time.monotonic()
            try:
                await watch_inbox(self.runtime, account, lambda: self._changed(due))
            except IdleNotSupportedError:
                await asyncio.to_thread(self._no_idle, due)
                return
            except Exception as exc:  # the connection broke or was refused: try again later
                if time.monotonic() - started > STABLE_SECONDS:
                    pause = FIRST_RETRY_SECONDS
                log.info(
                    "IDLE connection ended",
                    extra={"account_id": due.account_id, "error": str(exc), "retry_in": pause},
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_RETRY_SECONDS)

    def _no_idle(self, due: DueFetch) -> None:
        with self.runtime.tenant(due.company_id) as session:
            sync_schedule.mark_no_idle(session, due.account_id)
