"""The background loop runs its jobs, survives a failing one, and stops when told."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

from sqlalchemy import func, select

from postroom.db.models import User, WebSession
from postroom.services import websessions
from postroom.services.runtime import Runtime
from postroom.worker.loop import DEFAULT_JOBS, PeriodicJob, run_worker
from tests.support import Tenant


def _count_sessions(runtime: Runtime) -> int:
    with runtime.platform() as session:
        return session.scalar(select(func.count()).select_from(WebSession)) or 0


async def _run_until(
    runtime: Runtime, jobs: tuple[PeriodicJob, ...], done: threading.Event
) -> None:
    """Run the worker until a job (in its thread) sets `done`, then stop it."""
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(runtime, stop, jobs))
    deadline = time.monotonic() + 10
    while not done.is_set():
        assert time.monotonic() < deadline, "the jobs did not run"
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(worker, timeout=10)


def test_worker_purges_expired_web_sessions(runtime: Runtime, tenant: Tenant) -> None:
    with runtime.tenant(tenant.company_id) as session:
        user = session.get(User, tenant.admin.id)
        assert user is not None
        websessions.open_session(session, user=user, max_age=timedelta(seconds=-1))
        websessions.open_session(session, user=user, max_age=timedelta(hours=1))
    assert _count_sessions(runtime) == 2
    done = threading.Event()
    purge = DEFAULT_JOBS[0]
    jobs = (purge, PeriodicJob("signal", 3600, lambda _rt: done.set()))
    asyncio.run(_run_until(runtime, jobs, done))
    assert _count_sessions(runtime) == 1  # the live one stays


def test_a_failing_job_does_not_stop_the_others(runtime: Runtime) -> None:
    runs: list[str] = []
    done = threading.Event()

    def broken(_runtime: Runtime) -> None:
        runs.append("broken")
        raise RuntimeError("boom")

    def healthy(_runtime: Runtime) -> None:
        runs.append("healthy")
        if runs.count("broken") >= 2:
            done.set()

    jobs = (PeriodicJob("broken", 0.05, broken), PeriodicJob("healthy", 0.05, healthy))
    asyncio.run(_run_until(runtime, jobs, done))
    assert runs.count("broken") >= 2 and runs.count("healthy") >= 2
