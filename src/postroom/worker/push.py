"""Periodic job of the worker: send queued Web Push messages (services/push_queue.py)."""

from __future__ import annotations

import asyncio

from postroom.services.push_queue import send_due
from postroom.services.runtime import Runtime


def send_push_messages(runtime: Runtime) -> int:
    """Runs in a worker thread (periodic jobs are synchronous): its own event loop. Its first
    run, at worker start, also makes the VAPID key pair if there is none yet."""
    return asyncio.run(send_due(runtime))
