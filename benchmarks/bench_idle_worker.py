"""A receiving-only worker process for bench_idle.py: fetches and IDLE watchers, settings from
POSTROOM_* variables; prints "ready", runs until SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from postroom.config import load_settings
from postroom.gc_tuning import freeze_startup_objects
from postroom.services.runtime import build_runtime
from postroom.worker.fetch import run_fetching


async def _main() -> None:
    runtime = build_runtime(load_settings())
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    freeze_startup_objects()  # as `postroom worker` does
    print("ready", flush=True)
    await run_fetching(runtime, stop, worker_id="bench-idle")
    runtime.close()


if __name__ == "__main__":
    asyncio.run(_main())
