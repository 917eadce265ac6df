"""Two worker processes on PostgreSQL (issue 5, benchmark b): throughput must grow.

Each case is the median of --runs runs: the time from "go" until every worker has found the
queue empty, for 1 and for 2 worker processes, and the ratio to smtp-source in the same run.

    python3 benchmarks/bench_outbox_workers.py [--messages 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time

from benchmarks.common import (
    PG_URL,
    bulk_enqueue,
    count_by_status,
    emit,
    empty_outbox,
    median,
    python,
    runtime_for,
    setup_company,
    smtp_sink,
    smtp_source_seconds,
    workdir,
)


def _run_workers(count: int, data_dir: str) -> float:
    processes = [
        subprocess.Popen(
            [python(), "-m", "benchmarks.worker_process", "--url", PG_URL, "--data-dir", data_dir],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    start = time.perf_counter()
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    for process in processes:
        assert process.stdout is not None
        json.loads(process.stdout.readline())  # {"seconds": …, "sent": …}
        process.wait(60)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=20 * 1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {}
    with workdir() as directory, smtp_sink() as port:
        runtime = runtime_for("postgresql", directory)
        company_id, account_id, _token = setup_company(runtime, port)
        for _ in range(args.runs):
            times.setdefault("smtp_source", []).append(
                smtp_source_seconds(port, args.messages, args.size)
            )
            for workers in (1, 2):
                empty_outbox(runtime)
                bulk_enqueue(runtime, company_id, account_id, args.messages, args.size)
                seconds = _run_workers(workers, str(directory))
                assert count_by_status(runtime) == {"sent": args.messages}
                times.setdefault(f"workers_{workers}", []).append(seconds)
        runtime.close()
    base = median(times["smtp_source"])
    for case, values in times.items():
        seconds = median(values)
        emit(
            case,
            messages=args.messages,
            runs=len(values),
            median_seconds=seconds,
            msgs_per_second=round(args.messages / seconds, 1),
            ratio_to_smtp_source=round(base / seconds, 3),
        )
    emit(
        "two_workers_speedup",
        ratio_2_to_1=round(median(times["workers_1"]) / median(times["workers_2"]), 3),
    )


if __name__ == "__main__":
    main()
