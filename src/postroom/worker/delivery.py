"""The outbox delivery loop of a worker process: runs the engine until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket

from postroom.services.delivery import DeliveryEngine, DeliveryOptions
from postroom.services.runtime import Runtime

log = logging.getLogger("postroom.worker")
RESTART_SECONDS = 5.0


def make_worker_id() -> str:
    """host:pid:random — names the lease holder; the random part tells a restarted process
    with a reused pid from the one that died."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


async def run_delivery(
    runtime: Runtime,
    stop: asyncio.Event,
    *,
    worker_id: str | None = None,
    options: DeliveryOptions | None = None,
) -> None:
    """Deliver queued mail until `stop` is set; then finish the transactions under way and
    give back (release) the messages not yet started."""
    worker_id = worker_id or make_worker_id()
    options = options or DeliveryOptions.from_settings(runtime.settings)
    log.info("delivery started", extra={"worker": worker_id})
    while not stop.is_set():
        engine = DeliveryEngine(runtime, worker_id=worker_id, options=options)
        try:
            await engine.run(stop)
        except Exception:
            # A bug or a database outage must not end delivery for good; leased messages are
            # taken over after their lease if this process cannot go on.
            log.exception("delivery loop failed; restarting", extra={"worker": worker_id})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=RESTART_SECONDS)
    log.info("delivery stopped", extra={"worker": worker_id})
