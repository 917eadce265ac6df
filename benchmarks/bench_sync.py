"""Receiving (issue 6): a 10,000-message mailbox over IMAPS, Postroom against mbsync.

Cases, each the median of --runs runs, with ratios to mbsync measured in the same run
(ratio = mbsync's time / ours: above 1.0 we are faster):
  mbsync_full           mbsync (isync) full Pull sync into an empty Maildir: the baseline
  mbsync_full_durable   with --durable-mbsync: the same with FSync yes (each message on
                        disk before the next), run last in each run; full_* cases then also
                        give their ratio to it (a report, not the target)
  full_listed_<db>      Postroom's first fetch until every message is stored (committed, so
                        GET /api/v1/mail lists it; checked through the API after each run)
  full_searchable_<db>  the same until every message is also indexed for search
  mbsync_noop / incremental_noop_<db>      a second sync with nothing new
  mbsync_10_new / incremental_10_new_<db>  a sync after 10 new messages arrived, until they
                        are listed; incremental_10_new_done_<db>: until the fetch ended (the
                        new mail's rules run and the messages indexed)

    python3 -m benchmarks.bench_sync [--runs 3] [--backends sqlite,postgresql] [--durable-mbsync]
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.bench_sync_env import BIG_USER, PASSWORD, BenchMailEnv, bench_mailenv
from benchmarks.bench_sync_setup import (
    account_setup,
    api_total,
    fetch_timed,
    runtime_with_ca,
)
from benchmarks.common import emit, median

MBSYNC = shutil.which("mbsync") or "/usr/bin/mbsync"
MESSAGES = 10_000


def _mbsync_config(env: BenchMailEnv, store: Path, *, durable: bool = False) -> Path:
    """mbsync as performance.md measured it: IMAPS, Pull, every folder, no fsync; `durable`:
    with fsync, as every message Postroom stores is on disk before it is listed."""
    config = store / "mbsyncrc"
    config.write_text(
        f"""FSync {"yes" if durable else "no"}

IMAPAccount bench
Host localhost
Port {env.ports["imaps"]}
User {BIG_USER}
Pass {PASSWORD}
SSLType IMAPS
SystemCertificates no
CertificateFile {env.ca_file}
PipelineDepth 50

IMAPStore bench-remote
Account bench

MaildirStore bench-local
Path {store}/mail/
Inbox {store}/mail/INBOX
SubFolders Verbatim

Channel bench
Far :bench-remote:
Near :bench-local:
Patterns *
Create Near
Sync Pull
SyncState *
Expunge None
"""
    )
    return config


def _mbsync(config: Path) -> float:
    os.sync()  # no case pays for the write-back of the one before (see fetch_timed)
    start = time.perf_counter()
    subprocess.run([MBSYNC, "-c", str(config), "-q", "bench"], check=True)
    return time.perf_counter() - start


def _fresh_mbsync(env: BenchMailEnv, store: Path, *, durable: bool = False) -> Path:
    shutil.rmtree(store, ignore_errors=True)
    (store / "mail").mkdir(parents=True)
    return _mbsync_config(env, store, durable=durable)


def _add_new(env: BenchMailEnv, start: int) -> None:
    env.fill(BIG_USER, 10, seed=42, start=start, new=True)


def _remove_new(env: BenchMailEnv) -> None:
    """Back to the 10,000 messages: the 10 added for the incremental case are expunged."""
    context = ssl.create_default_context(cafile=str(env.ca_file))
    client = imaplib.IMAP4_SSL(env.host, env.ports["imaps"], ssl_context=context)
    client.login(BIG_USER, PASSWORD)
    client.select("INBOX")
    _typ, data = client.search(None, "ALL")
    numbers = (data[0] or b"").split()
    if len(numbers) > MESSAGES:
        client.store(b",".join(numbers[MESSAGES:]).decode(), "+FLAGS", "(\\Deleted)")
        client.expunge()
    client.logout()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--durable-mbsync", action="store_true", help="also mbsync_full_durable")
    args = parser.parse_args()
    env = bench_mailenv()
    _remove_new(env)
    times: dict[str, list[float]] = {}
    added = MESSAGES + 1_000_000  # far from the series the mailbox was filled with
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory(prefix="postroom-bench-sync-") as work:
        root = Path(work)
        for run in range(args.runs):
            config = _fresh_mbsync(env, root / "mbsync")
            times.setdefault("mbsync_full", []).append(_mbsync(config))
            accounts = {}
            for backend in backends:
                runtime = runtime_with_ca(backend, root / f"{backend}-{run}", env)
                company_id, account_id, token = account_setup(runtime, env, BIG_USER, "imap")
                accounts[backend] = (runtime, company_id, account_id)
                timed = asyncio.run(fetch_timed(runtime, company_id, account_id))
                assert timed.stored == MESSAGES, timed
                assert api_total(runtime, token, account_id) == MESSAGES
                times.setdefault(f"full_listed_{backend}", []).append(timed.listed)
                times.setdefault(f"full_searchable_{backend}", []).append(timed.searchable)
                noop = asyncio.run(fetch_timed(runtime, company_id, account_id))
                times.setdefault(f"incremental_noop_{backend}", []).append(noop.searchable)
            times.setdefault("mbsync_noop", []).append(_mbsync(config))
            _add_new(env, added + run * 10)
            for backend, (runtime, company_id, account_id) in accounts.items():
                new = asyncio.run(fetch_timed(runtime, company_id, account_id))
                assert new.stored == 10, new
                times.setdefault(f"incremental_10_new_{backend}", []).append(new.listed)
                times.setdefault(f"incremental_10_new_done_{backend}", []).append(new.searchable)
                runtime.close()
            times.setdefault("mbsync_10_new", []).append(_mbsync(config))
            _remove_new(env)
            if args.durable_mbsync:  # last: its 10,000 fsyncs must not slow the cases above
                durable = _fresh_mbsync(env, root / "mbsync-durable", durable=True)
                times.setdefault("mbsync_full_durable", []).append(_mbsync(durable))
                shutil.rmtree(root / "mbsync-durable")
    _report(times)


_BASELINES = {
    "full_listed": "mbsync_full",
    "full_searchable": "mbsync_full",
    "incremental_noop": "mbsync_noop",
    "incremental_10_new": "mbsync_10_new",
}
_TARGETS = ("full_listed", "incremental_noop", "incremental_10_new")  # at most mbsync's time


def _report(times: dict[str, list[float]]) -> None:
    for case, values in times.items():
        seconds = median(values)
        base = next((b for prefix, b in _BASELINES.items() if case.startswith(prefix)), None)
        ratio = round(median(times[base]) / seconds, 3) if base and seconds else None
        targeted = ratio is not None and case.startswith(_TARGETS) and "_done_" not in case
        durable = times.get("mbsync_full_durable") if case.startswith("full_") else None
        emit(
            case,
            runs=len(values),
            median_seconds=seconds,
            all_seconds=[round(v, 3) for v in values],
            ratio_mbsync_over_ours=ratio,
            target_met=ratio >= 1.0 if targeted and ratio is not None else None,
            # the same against mbsync made durable (FSync yes): a report, not the target
            ratio_durable_mbsync_over_ours=round(median(durable) / seconds, 3) if durable else None,
        )


if __name__ == "__main__":
    main()
