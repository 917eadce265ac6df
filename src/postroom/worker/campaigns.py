"""Periodic job of the worker: feed running campaigns into the outbox (campaign_feeder.py)."""

from __future__ import annotations

from postroom.services.campaign_feeder import FeedOptions, feed_due
from postroom.services.runtime import Runtime
from postroom.worker.delivery import make_worker_id

_WORKER_ID = make_worker_id()


def feed_campaigns(runtime: Runtime) -> int:
    """Runs in a worker thread; each campaign gets a time slice per turn, so one of 100,000
    rows never keeps the others (or the other periodic jobs) waiting."""
    options = FeedOptions(batch=runtime.settings.campaign_feed_batch)
    return feed_due(runtime, worker_id=_WORKER_ID, options=options)
