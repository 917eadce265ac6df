"""A worker process running the reminder scheduler once, for the exactly-once tests.

    python -m tests.reminders.scheduler_process 2026-11-17 [--pause-at N]

The database and key come from POSTROOM_* variables, as for `postroom worker`. With
--pause-at N it stops inside the N-th reminder's transaction, after its messages are queued
and before the commit, prints "paused <batch key>" and waits there to be killed. At the end
it prints "sent <count>".
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from datetime import date

from postroom.config import Settings
from postroom.services.reminder_plan import PlannedReminder
from postroom.services.reminder_scheduler import batch_key, send_due_reminders
from postroom.services.runtime import build_runtime
from tests.reminders.support import morning


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("day", type=date.fromisoformat)
    parser.add_argument("--pause-at", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # a failed reminder shows
    runtime = build_runtime(Settings())
    reached = 0

    def checkpoint(reminder: PlannedReminder) -> None:
        nonlocal reached
        reached += 1
        if reached == args.pause_at:
            print(f"paused {batch_key(reminder)}", flush=True)
            threading.Event().wait()  # until SIGKILL, holding the open transaction

    sent = send_due_reminders(runtime, now=morning(args.day), checkpoint=checkpoint)
    print(f"sent {sent}", flush=True)
    runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
