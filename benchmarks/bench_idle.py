"""IMAP IDLE push (issue 6): delivery through Postfix → the message listed by the API.

One worker process (bench_idle_worker.py: fetching and IDLE only, as `postroom worker` runs
them) watches the accounts; this process delivers over SMTP to Postfix's MX port and polls
GET /api/v1/mail every 10 ms until the message is listed. Cases:
  idle_1        one account idling: latency median and p95 (target < 1 s)
  idle_200      200 accounts idling on one worker: the worker's resident memory once every
                watcher is connected (target < 300 MB) and the same latency

    python3 -m benchmarks.bench_idle [--deliveries 20] [--accounts 200] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import imaplib
import os
import random
import smtplib
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from benchmarks.bench_sync_env import IDLE_USERS, PASSWORD, BenchMailEnv, bench_mailenv
from benchmarks.bench_sync_setup import add_account, new_company, runtime_with_ca
from benchmarks.common import emit
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from postroom.db.models_mailbox import MailSyncState
from postroom.services.runtime import Runtime

POLL_SECONDS = 0.01
WAIT_SECONDS = 60.0


def _empty_mailboxes(env: BenchMailEnv, users: Sequence[str]) -> None:
    """Earlier runs' mail out of the INBOXes, so a new message is the newest one listed."""
    context = ssl.create_default_context(cafile=str(env.ca_file))
    for user in users:
        client = imaplib.IMAP4_SSL(env.host, env.ports["imaps"], ssl_context=context)
        client.login(user, PASSWORD)
        client.select("INBOX")
        if client.search(None, "ALL")[1][0]:
            client.store("1:*", "+FLAGS", "(\\Deleted)")
            client.expunge()
        client.logout()


def _message(to: str, subject: str) -> bytes:
    mail = EmailMessage()
    mail["Date"] = formatdate(localtime=True)
    mail["From"] = "Nadawca <nadawca@firma.example.test>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@firma.example.test>"
    mail.set_content("Nowa wiadomość do pomiaru IDLE.\n")
    return mail.as_bytes()


def _rss_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak) of a process, in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _sockets(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count


def _start_worker(runtime: Runtime) -> subprocess.Popen[str]:
    settings = runtime.settings
    assert settings.secret_key is not None
    env = dict(
        os.environ,
        POSTROOM_DATA_DIR=str(settings.data_dir),
        POSTROOM_DATABASE_URL=settings.effective_database_url,
        POSTROOM_SECRET_KEY=settings.secret_key.get_secret_value(),
        POSTROOM_ALLOWED_NETWORKS=settings.allowed_networks,
        POSTROOM_EXTRA_CA_FILE=str(settings.extra_ca_file),
        POSTROOM_FETCH_CONCURRENCY="20",
        POSTROOM_LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_idle_worker"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def _wait_watching(runtime: Runtime, process: subprocess.Popen[str], accounts: int) -> float:
    """Until every account's first fetch is done and the worker holds a connection for each."""
    start = time.monotonic()
    while time.monotonic() - start < 600:
        with runtime.platform() as session:
            done = session.scalar(
                select(func.count())
                .select_from(MailSyncState)
                .where(MailSyncState.first_import_done_at.is_not(None))
            )
        if (done or 0) >= accounts and _sockets(process.pid) >= accounts:
            return time.monotonic() - start
        time.sleep(0.5)
    raise RuntimeError("the watchers did not all connect")


def _latencies(
    env: BenchMailEnv,
    client: TestClient,
    token: str,
    accounts: Sequence[tuple[int, str]],
    deliveries: int,
) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    found: list[float] = []
    for number in range(deliveries):
        account_id, address = random.choice(accounts)
        subject = f"IDLE {number} {uuid.uuid4().hex[:8]}"
        raw = _message(address, subject)
        start = time.perf_counter()
        with smtplib.SMTP(env.host, env.ports["mx"], timeout=30) as smtp:
            smtp.sendmail("nadawca@firma.example.test", [address], raw)
        while time.perf_counter() - start < WAIT_SECONDS:
            listed = client.get(
                "/api/v1/mail", params={"account_id": account_id, "limit": 5}, headers=headers
            ).json()["items"]
            if any(item["subject"] == subject for item in listed):
                found.append(time.perf_counter() - start)
                break
            time.sleep(POLL_SECONDS)
        else:
            raise RuntimeError(f"{subject} never appeared")
        time.sleep(0.2)
    return found


def _case(
    env: BenchMailEnv, backend: str, directory: Path, count: int, deliveries: int
) -> dict[str, object]:
    _empty_mailboxes(env, IDLE_USERS[:count])
    runtime = runtime_with_ca(backend, directory, env)
    company_id, token = new_company(runtime)
    accounts = [
        (add_account(runtime, company_id, env, user, "imap"), user) for user in IDLE_USERS[:count]
    ]
    process = _start_worker(runtime)
    try:
        connect_seconds = _wait_watching(runtime, process, count)
        rss, peak = _rss_mb(process.pid)
        from postroom.app import create_app

        with TestClient(create_app(runtime)) as client:
            latencies = _latencies(env, client, token, accounts, deliveries)
        rss_after, peak_after = _rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(60)
        runtime.close()
    ordered = sorted(latencies)
    return {
        "accounts": count,
        "deliveries": len(latencies),
        "latency_median_seconds": round(statistics.median(ordered), 3),
        "latency_p95_seconds": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 3),
        "latency_max_seconds": round(ordered[-1], 3),
        "watchers_connected_after_seconds": round(connect_seconds, 1),
        "worker_rss_mb": round(rss, 1),
        "worker_rss_after_deliveries_mb": round(rss_after, 1),
        "worker_peak_rss_mb": round(max(peak, peak_after), 1),
        "latency_target_met": statistics.median(ordered) < 1.0,
        "memory_target_met": max(rss, rss_after) < 300,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--backend", default="sqlite")
    args = parser.parse_args()
    env = bench_mailenv()
    with tempfile.TemporaryDirectory(prefix="postroom-bench-idle-") as work:
        for count in (1, args.accounts):
            result = _case(env, args.backend, Path(work) / str(count), count, args.deliveries)
            emit(f"idle_{count}", backend=args.backend, **result)


if __name__ == "__main__":
    main()
