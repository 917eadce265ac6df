"""Runs periodic jobs until told to stop; one job's failure is logged and never stops the others."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from postroom.db.engine import refresh_statistics
from postroom.services.files import sweep_orphaned_files
from postroom.services.mail_store_sweep import sweep_orphaned_segments
from postroom.services.runtime import Runtime
from postroom.services.websessions import purge_expired_sessions
from postroom.worker.campaigns import feed_campaigns
from postroom.worker.delivery import run_delivery
from postroom.worker.fetch import run_fetching
from postroom.worker.imap_jobs import append_sent_copies, save_drafts
from postroom.worker.invoices import send_invoice_notices
from postroom.worker.migrations import run_migrations
from postroom.worker.push import send_push_messages
from postroom.worker.reminders import send_reminders
from postroom.worker.sms import send_sms
from postroom.worker.webhooks import deliver_webhooks

log = logging.getLogger("postroom.worker")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[Runtime], object]  # synchronous; runs in a thread so the loop stays free


def _purge_sessions(runtime: Runtime) -> int:
    with runtime.platform() as session:
        return purge_expired_sessions(session)


DEFAULT_JOBS = (
    PeriodicJob("purge expired web sessions", 3600, _purge_sessions),
    PeriodicJob("sweep orphaned uploaded files", 3600, sweep_orphaned_files),
    PeriodicJob("sweep orphaned mail segments", 3600, sweep_orphaned_segments),
    PeriodicJob("refresh database statistics", 3600, lambda rt: refresh_statistics(rt.engine)),
    # C4: copies of sent mail and drafts on the accounts' IMAP servers (docs/outbox.md).
    PeriodicJob("append sent copies", 30, append_sent_copies),
    PeriodicJob("store drafts on IMAP", 15, save_drafts),
    PeriodicJob("deliver webhooks", 5, deliver_webhooks),  # services/webhook_delivery.py
    PeriodicJob("mailbox migrations", 10, run_migrations),  # D4: services/migration_runner.py
    PeriodicJob("feed campaigns", 2, feed_campaigns),  # C2: services/campaign_feeder.py
    PeriodicJob("send sms", 5, send_sms),  # F2: services/sms_queue.py
    PeriodicJob("send web push", 2, send_push_messages),  # F1: services/push_queue.py
    PeriodicJob("send deadline reminders", 300, send_reminders),  # F3: reminder_scheduler.py
    PeriodicJob("send invoice notices", 300, send_invoice_notices),  # seed 003: dunning
)


async def run_worker(
    runtime: Runtime,
    stop: asyncio.Event,
    jobs: tuple[PeriodicJob, ...] = DEFAULT_JOBS,
    *,
    delivery: bool = True,
    fetching: bool = True,
) -> None:
    """Run every job once at start, then each on its own schedule, until `stop` is set; the
    outbox delivery loop runs alongside them (docs/outbox.md)."""
    next_run = dict.fromkeys(range(len(jobs)), 0.0)
    log.info("worker started", extra={"jobs": [job.name for job in jobs]})
    sending = asyncio.create_task(run_delivery(runtime, stop)) if delivery else None
    # D1: scheduled and requested fetches, IMAP IDLE push (docs/receiving.md).
    receiving = asyncio.create_task(run_fetching(runtime, stop)) if fetching else None
    while not stop.is_set():
        now = time.monotonic()
        for index, job in enumerate(jobs):
            if next_run[index] <= now:
                next_run[index] = now + job.every_seconds
                await _run_one(runtime, job)
        wake = min(next_run.values(), default=now + runtime.settings.worker_poll_seconds)
        timeout = max(0.05, min(wake - time.monotonic(), runtime.settings.worker_poll_seconds))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=timeout)
    if sending is not None:
        await sending  # finishes the transactions under way, releases the rest
    if receiving is not None:
        await receiving
    log.info("worker stopped")


async def _run_one(runtime: Runtime, job: PeriodicJob) -> None:
    try:
        result = await asyncio.to_thread(job.run, runtime)
        log.debug("job done", extra={"job": job.name, "result": result})
    except Exception:
        # A failing job must not take the worker down; it runs again at its next turn.
        log.exception("job failed", extra={"job": job.name})
