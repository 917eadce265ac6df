"""The worker's share of mailbox migrations (D4): open jobs, a time slice per turn."""

from __future__ import annotations

import asyncio

from postroom.services.migration_runner import run_due_migrations
from postroom.services.runtime import Runtime
from postroom.worker.delivery import make_worker_id

# A long migration gives the loop back after this long; the next turn resumes it, so other
# periodic jobs (sent copies, drafts) never wait behind a 10,000-message upload.
SLICE_SECONDS = 20.0
_WORKER_ID = make_worker_id()


def run_migrations(runtime: Runtime) -> int:
    """Runs in a worker thread (periodic jobs are synchronous): its own event loop."""
    return asyncio.run(run_due_migrations(runtime, _WORKER_ID, SLICE_SECONDS))
