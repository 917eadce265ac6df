"""Periodic job of the worker: deliver queued webhook events (services/webhook_delivery.py)."""

from __future__ import annotations

import asyncio

from postroom.services.runtime import Runtime
from postroom.services.webhook_delivery import deliver_due


def deliver_webhooks(runtime: Runtime) -> int:
    """Runs in a worker thread (periodic jobs are synchronous): its own event loop."""
    return asyncio.run(deliver_due(runtime))
