"""The delivery engine: claim due messages, send them over reused connections, record results."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from sqlalchemy import Connection

from postroom.db.base import utcnow
from postroom.errors import NotFoundError
from postroom.mail.sessions import open_smtp
from postroom.mail.smtp_client import Envelope, SmtpSender
from postroom.services import delivery_outcome as outcomes
from postroom.services.delivery_options import DeliveryOptions
from postroom.services.delivery_outcome import Outcome
from postroom.services.delivery_recorder import Recorder
from postroom.services.delivery_routes import (
    ACCOUNT_GONE,
    RouteInfo,
    RouteKey,
    load_route,
    route_of,
)
from postroom.services.outbox import (
    ClaimedMessage,
    claim_rows,
    load_claimed,
    release,
    renew_leases,
)
from postroom.services.outbox_results import (
    HealthMemo,
    health_to_write,
    update_health,
    write_outcomes,
)
from postroom.services.runtime import Runtime

__all__ = ["DeliveryEngine", "DeliveryOptions"]  # the options live in delivery_options

log = logging.getLogger("postroom.delivery")
STOP_GRACE_SECONDS = 30.0
# Claimed messages held at once (sent but not yet recorded ones included), in batches.
MAX_BATCHES_IN_HAND = 4


@dataclass(eq=False)
class _Route:
    key: RouteKey
    queue: deque[ClaimedMessage] = field(default_factory=deque)
    more: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    live: int = 0  # connections logged in and sending


class DeliveryEngine:
    """One worker's delivery: a claimer, connection tasks per route, one recorder.

    Outcomes are written by a recorder thread that takes every outcome gathered so far into
    one short transaction per company (group commit) and starts the next at once. A
    connection that got "250" for a message goes on with the next one, but holds back that
    one's final "." until the earlier result is committed: at any moment each connection has
    at most one accepted message not yet recorded, which is all a crash can duplicate
    (docs/outbox.md).
    """

    def __init__(self, runtime: Runtime, *, worker_id: str, options: DeliveryOptions) -> None:
        self.runtime = runtime
        self.worker_id = worker_id
        self.options = options
        self._routes: dict[RouteKey, _Route] = {}
        self._pending: dict[int, ClaimedMessage] = {}  # claimed, outcome not yet written
        self._committed: dict[int, asyncio.Future[None]] = {}  # message → its result is written
        self._recorder: Recorder | None = None
        self._space = asyncio.Event()
        self._stopping = False
        # SQLite has one writer at a time: the claim, the recorder and the lease renewal take
        # turns on this lock instead of sleeping in SQLite's busy handler.
        sqlite = runtime.engine.dialect.name == "sqlite"
        self._write_lock: threading.Lock | None = threading.Lock() if sqlite else None
        self._health = HealthMemo()
        self._db: Connection | None = None  # the recorder thread's own connection
        self.recorded = 0

    # --- the main loop -------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False) -> None:
        """Deliver until `stop` is set (or, with `until_idle`, until nothing is due and every
        claimed message is recorded); then finish or release what is in hand."""
        loop = asyncio.get_running_loop()
        recorder = self._recorder = Recorder(self._write, self._written, loop)
        recorder.start()
        renew_at = loop.time() + self.options.lease_seconds / 3
        try:
            while not stop.is_set():
                claimed = await self._claim_if_room()
                if until_idle and claimed == 0 and not self._pending:
                    break
                if loop.time() >= renew_at:
                    renew_at = loop.time() + self.options.lease_seconds / 3
                    await self._renew()
                if claimed is None:
                    await _wait(stop, self._space, self.options.poll_seconds)
                elif claimed < self.options.batch_size:
                    await _wait(
                        stop, self._space if until_idle else None, self.options.poll_seconds
                    )
        finally:
            await self._shutdown(recorder)

    def _queued(self) -> int:
        return sum(len(route.queue) for route in self._routes.values())

    async def _claim_if_room(self) -> int | None:
        """Claim a batch while fewer than one batch waits to be sent (so the connections never
        run dry while a claim is under way); None if there was no room."""
        size = self.options.batch_size
        if self._queued() >= size or len(self._pending) >= MAX_BATCHES_IN_HAND * size:
            self._space.clear()
            return None
        claimed = await asyncio.to_thread(self._claim, size)
        self._dispatch(claimed)
        return len(claimed)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        if self._write_lock is None:
            yield
            return
        with self._write_lock:
            yield

    def _claim(self, limit: int) -> list[ClaimedMessage]:
        now = utcnow()
        with self._writing(), self.runtime.platform() as session:
            rows = claim_rows(
                session,
                worker_id=self.worker_id,
                now=now,
                limit=limit,
                lease_seconds=self.options.lease_seconds,
                presets=self.options.presets,
            )
        if not rows:
            return []
        # Reading the MIME needs no write lock: results are committed meanwhile.
        with self.runtime.platform() as session:
            return load_claimed(session, rows, now)

    async def _renew(self) -> None:
        ids = list(self._pending)

        def renew() -> None:
            with self._writing(), self.runtime.platform() as session:
                renew_leases(
                    session,
                    worker_id=self.worker_id,
                    message_ids=ids,
                    until=utcnow() + timedelta(seconds=self.options.lease_seconds),
                )

        if ids:
            await asyncio.to_thread(renew)

    def _dispatch(self, claimed: list[ClaimedMessage]) -> None:
        touched: list[_Route] = []
        now = utcnow()
        for message in claimed:
            self._pending[message.id] = message
            key = route_of(message)
            if key is None:
                self._emit(outcomes.permanent(message, ACCOUNT_GONE, now=now))
                continue
            if not message.open_recipients:  # recorded as sent to all before a crash
                self._emit(outcomes.permanent(message, "No recipient left to send to.", now=now))
                continue
            route = self._routes.get(key)
            if route is None:
                route = self._routes[key] = _Route(key)
            route.queue.append(message)
            touched.append(route)
        for route in dict.fromkeys(touched):
            route.more.set()
            self._spawn(route)

    # --- connections -----------------------------------------------------------------------

    def _spawn(self, route: _Route) -> None:
        wanted = min(self.options.connections_per_route, len(route.queue))
        while len(route.tasks) < wanted and not self._stopping:
            task = asyncio.create_task(self._connection(route))
            route.tasks.add(task)
            task.add_done_callback(partial(self._connection_done, route))

    def _connection_done(self, route: _Route, task: asyncio.Task[None]) -> None:
        route.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery connection task failed", exc_info=task.exception())
        if route.queue and not self._stopping:
            self._spawn(route)  # a broken connection is replaced while mail waits
        elif not route.tasks and not route.queue:
            self._routes.pop(route.key, None)

    async def _connection(self, route: _Route) -> None:
        try:
            info = await load_route(
                self.runtime,
                route.key,
                timeout=self.options.connect_timeout,
                presets=self.options.presets,
            )
            session = await open_smtp(info.target, info.options)
        except Exception as exc:
            self._connect_failed(route, exc)
            return
        sender = SmtpSender(session, timeout=self.options.smtp_timeout)
        route.live += 1
        try:
            await self._send_all(route, sender, info)
        finally:
            route.live -= 1
            await sender.close()

    def _connect_failed(self, route: _Route, exc: Exception) -> None:
        if route.live:  # other connections to this server work (e.g. a connection limit)
            return
        log.warning(
            "cannot connect for delivery",
            extra={"account_id": route.key.account_id, "error": str(exc)},
        )
        now = utcnow()
        while route.queue:
            message = route.queue.popleft()
            if isinstance(exc, NotFoundError):
                self._emit(outcomes.permanent(message, exc.message, now=now))
            else:
                self._emit(self._error(message, exc, connecting=True))

    async def _send_all(self, route: _Route, sender: SmtpSender, info: RouteInfo) -> None:
        # "Written" signals of this connection's accepted messages not yet recorded: with as
        # many as allowed, the next message's final "." waits for the oldest of them.
        unrecorded: deque[asyncio.Future[None]] = deque()
        allowed = self.options.unrecorded_per_connection
        while (message := await self._next(route)) is not None:
            recipients = tuple(r.address for r in message.open_recipients)
            envelope = Envelope(
                message.envelope_from, recipients, message.mime, envelope_id=message.message_id
            )
            while unrecorded and unrecorded[0].done():
                unrecorded.popleft()
            hold = unrecorded[-allowed] if len(unrecorded) >= allowed else None
            try:
                result = await sender.send(envelope, before_end=hold)
            except Exception as exc:
                self._emit(self._error(message, exc, connecting=False))
                return
            outcome = outcomes.from_transaction(
                message,
                result,
                now=utcnow(),
                policy=self.options.policy,
                sent_copy_needed=info.sent_copy_needed,
            )
            written = self._emit(outcome)
            if result.accepted:
                unrecorded.append(written)
            if not sender.usable:
                return

    async def _next(self, route: _Route) -> ClaimedMessage | None:
        """The next message for this server; None after `idle_seconds` without one."""
        while not route.queue:
            if self._stopping:
                return None
            route.more.clear()
            try:
                async with asyncio.timeout(self.options.idle_seconds):
                    await route.more.wait()
            except TimeoutError:
                return None
        if self._stopping:
            return None
        message = route.queue.popleft()
        if len(route.queue) < self.options.batch_size // 2:
            self._space.set()  # time to claim more
        return message

    def _error(self, message: ClaimedMessage, exc: Exception, *, connecting: bool) -> Outcome:
        return outcomes.from_error(
            message, exc, now=utcnow(), policy=self.options.policy, connecting=connecting
        )

    # --- recording -------------------------------------------------------------------------

    def _emit(self, outcome: Outcome) -> asyncio.Future[None]:
        """Hand an outcome to the recorder; the future is done once it is committed."""
        written = asyncio.get_running_loop().create_future()
        self._committed[outcome.message.id] = written
        assert self._recorder is not None
        self._recorder.put(outcome)
        return written

    def _written(self, batch: list[Outcome]) -> None:
        """In the event loop: a group of outcomes is committed."""
        for outcome in batch:
            message_id = outcome.message.id
            self._pending.pop(message_id, None)
            written = self._committed.pop(message_id, None)
            if written is not None and not written.done():
                written.set_result(None)
        self.recorded += len(batch)
        self._space.set()

    def _write(self, batch: list[Outcome]) -> None:
        """In the recorder's thread: one transaction per company, on the recorder's own
        connection (no session or pool checkout per commit), health afterwards if needed."""
        by_company: dict[int, list[Outcome]] = defaultdict(list)
        for outcome in batch:
            by_company[outcome.message.company_id].append(outcome)
        if self._db is None:
            self._db = self.runtime.engine.connect()
        conn = self._db
        try:
            for company_id, items in by_company.items():
                with self._writing(), conn.begin():
                    write_outcomes(conn, company_id, items, worker_id=self.worker_id)
        except Exception:
            self._db = None  # a broken connection is not used again
            conn.close()
            raise
        for company_id, items in by_company.items():
            if health_to_write(items, self._health):
                with self._writing(), self.runtime.tenant(company_id) as session:
                    update_health(
                        session,
                        items,
                        auth_failure_limit=self.options.auth_failure_limit,
                        memo=self._health,
                    )

    # --- stopping --------------------------------------------------------------------------

    async def _shutdown(self, recorder: Recorder) -> None:
        """Finish the transactions under way, give back what was not started, write all."""
        self._stopping = True
        tasks = [task for route in self._routes.values() for task in route.tasks]
        for route in self._routes.values():
            route.more.set()
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
            for task in late:  # their messages stay leased; another worker takes them later
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*late, return_exceptions=True)
        unstarted = [m.id for route in self._routes.values() for m in route.queue]
        self._routes.clear()
        if unstarted:
            await asyncio.to_thread(self._release, unstarted)
            for message_id in unstarted:
                self._pending.pop(message_id, None)
        await recorder.close()
        if self._db is not None:
            self._db.close()
            self._db = None

    def _release(self, message_ids: list[int]) -> None:
        with self._writing(), self.runtime.platform() as session:
            release(session, worker_id=self.worker_id, message_ids=message_ids, now=utcnow())


async def _wait(stop: asyncio.Event, other: asyncio.Event | None, timeout: float) -> None:
    """Until `stop` or `other` is set, or `timeout` passes."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if other is not None:
        waiters.append(asyncio.ensure_future(other.wait()))
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
