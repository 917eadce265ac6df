"""One delivery worker process for the benchmarks: `ready`, then waits for `go` on stdin."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path

from benchmarks.common import WORKER_CONNECTIONS, bench_options

from postroom.config import Settings
from postroom.gc_tuning import freeze_startup_objects
from postroom.secrets import new_key
from postroom.services.delivery import DeliveryEngine
from postroom.services.runtime import build_runtime
from postroom.worker.delivery import make_worker_id, run_delivery


async def _forever(runtime_settings: Settings, lease: float, connections: int) -> None:
    runtime = build_runtime(runtime_settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    freeze_startup_objects()  # as `postroom worker` does
    print("ready", flush=True)
    await run_delivery(runtime, stop, options=bench_options(connections, lease))
    runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--lease", type=float, default=300.0)
    parser.add_argument("--connections", type=int, default=WORKER_CONNECTIONS)
    parser.add_argument("--forever", action="store_true")
    args = parser.parse_args()
    settings = Settings(
        data_dir=Path(args.data_dir),
        database_url=args.url,
        secret_key=new_key(),  # type: ignore[arg-type]
        allowed_networks="127.0.0.0/8",
    )
    if args.forever:
        asyncio.run(_forever(settings, args.lease, args.connections))
        return
    runtime = build_runtime(settings)
    engine = DeliveryEngine(
        runtime,
        worker_id=make_worker_id(),
        options=bench_options(args.connections, args.lease),
    )
    freeze_startup_objects()  # as `postroom worker` does
    print("ready", flush=True)
    sys.stdin.readline()  # "go"
    start = time.perf_counter()
    asyncio.run(engine.run(asyncio.Event(), until_idle=True))
    print(json.dumps({"seconds": time.perf_counter() - start, "sent": engine.recorded}), flush=True)
    runtime.close()


if __name__ == "__main__":
    main()
