"""The recorder: one thread that commits delivery outcomes the moment they arrive (group commit)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from postroom.services.delivery_outcome import Outcome

log = logging.getLogger("postroom.delivery")
MAX_RETRY_SECONDS = 30.0


class Recorder:
    """Writes outcomes in a thread of its own, so that no SMTP connection waits for the database.

    Whatever arrived while the previous commit ran goes into the next one, which starts at
    once: under load the groups grow by themselves, and an outcome waits at most about one
    commit before its own (the window in which a crash can duplicate a message). A dedicated
    thread, not the event loop's executor: a claim or a lease renewal never queues in front
    of a commit, and waking it costs a notify, not a task.
    """

    def __init__(
        self,
        write: Callable[[list[Outcome]], None],
        written: Callable[[list[Outcome]], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._write = write
        self._written = written  # called in the event loop with each committed group
        self._loop = loop
        self._cond = threading.Condition()
        self._items: list[Outcome] = []
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="postroom-recorder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, outcome: Outcome) -> None:
        with self._cond:
            self._items.append(outcome)
            self._cond.notify()

    async def close(self) -> None:
        """Write everything given so far, then end the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closing:
                    self._cond.wait()
                batch, self._items = self._items, []
            if not batch:
                return  # closing, and nothing left to write
            self._write_until_done(batch)
            self._loop.call_soon_threadsafe(self._written, batch)

    def _write_until_done(self, batch: list[Outcome]) -> None:
        delay = 0.5
        while True:
            try:
                self._write(batch)
                return
            except Exception:
                # Dropping an outcome would leave the message leased until the lease expires
                # and then send it again: keep trying (the database may be restarting).
                log.exception("recording delivery outcomes failed; retrying")
                time.sleep(delay)
                delay = min(MAX_RETRY_SECONDS, delay * 2)
