"""Periodic job of the worker: send queued SMS (services/sms_queue.py)."""

from __future__ import annotations

import asyncio

from postroom.services.runtime import Runtime
from postroom.services.sms_queue import send_due


def send_sms(runtime: Runtime) -> int:
    """Runs in a worker thread (periodic jobs are synchronous): its own event loop."""
    return asyncio.run(send_due(runtime))
