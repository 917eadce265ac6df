"""Crash test (issue 5, benchmark c): kill -9 the worker at random moments during a send.

2,000 messages go to smtp-sink, which keeps every message (-d). The worker (lease 5 s) is
killed with SIGKILL --kills times at random moments and restarted at once; then it runs until
every message is recorded as sent. The sink's copies are counted by Message-ID: none may be
lost; duplicates are reported (the only window: between the server's 250 and our commit).

    python3 benchmarks/bench_outbox_crash.py [--messages 2000] [--kills 10] [--runs 1]
"""

from __future__ import annotations

import argparse
import random
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import (
    bulk_enqueue,
    count_by_status,
    emit,
    python,
    runtime_for,
    setup_company,
    smtp_sink,
    workdir,
)

LEASE_SECONDS = 5.0
_MESSAGE_ID = re.compile(rb"^Message-ID: <([^>]+)>", re.MULTILINE | re.IGNORECASE)


def _start(url: str, data_dir: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            *(python(), "-m", "benchmarks.worker_process", "--forever", "--url", url),
            *("--data-dir", str(data_dir), "--lease", str(LEASE_SECONDS)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def _counted(dump: Path) -> Counter[str]:
    found: Counter[str] = Counter()
    for path in dump.iterdir():
        match = _MESSAGE_ID.search(path.read_bytes())
        if match:
            found[match.group(1).decode()] += 1
    return found


def _one_run(backend: str, messages: int, kills: int, size: int) -> dict[str, object]:
    with workdir() as directory, smtp_sink(directory / "sink") as port:
        runtime = runtime_for(backend, directory / "db")
        company_id, account_id, _ = setup_company(runtime, port)
        ids = bulk_enqueue(runtime, company_id, account_id, messages, size)
        url = runtime.settings.effective_database_url
        done_kills = 0
        worker = _start(url, directory)
        try:
            for _ in range(kills):
                time.sleep(random.uniform(0.05, 0.6))
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                done_kills += 1
                worker = _start(url, directory)
            deadline = time.monotonic() + 120
            while count_by_status(runtime).get("sent", 0) < messages:
                assert time.monotonic() < deadline, count_by_status(runtime)
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        time.sleep(0.5)  # the sink writes its last files
        counted = _counted(directory / "sink")
        runtime.close()
    lost = [i for i in ids if counted[i] == 0]
    return {
        "backend": backend,
        "messages": messages,
        "kills": done_kills,
        "lost": len(lost),
        "duplicates": sum(n - 1 for n in counted.values() if n > 1),
        "delivered_copies": sum(counted.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--size", type=int, default=20 * 1024)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        for _ in range(args.runs):
            emit("crash_kill9", **_one_run(backend, args.messages, args.kills, args.size))


if __name__ == "__main__":
    main()
