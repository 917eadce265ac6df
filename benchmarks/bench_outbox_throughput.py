"""Outbox throughput (issue 5, benchmark a): 10,000 messages of 20 KB to smtp-sink.

Cases, each the median of --runs runs, with the ratio to smtp-source measured in the same run:
  smtp_source        Postfix's smtp-source -s 10 -d: the baseline
  client_pipelined   Postroom's SMTP client alone (no database), 10 reused connections
  client_aiosmtplib  aiosmtplib alone, 10 concurrent reused connections
  enqueue_api        POST /api/v1/messages (--api-messages of them), messages per second
  enqueue_batch      POST /api/v1/messages/batch (--batch-messages in batches of 500)
  delivery_<db>      the worker: claim from the outbox, send, record (SQLite WAL, PostgreSQL)
  end_to_end_<db>    enqueue through the batch API at the measured rate plus the delivery

    python3 benchmarks/bench_outbox_throughput.py [--messages 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiosmtplib
from benchmarks.common import (
    RECIPIENT,
    SENDER,
    WORKER_CONNECTIONS,
    bench_options,
    bulk_enqueue,
    count_by_status,
    emit,
    empty_outbox,
    median,
    message_bytes,
    point_account,
    runtime_for,
    setup_company,
    smtp_sink,
    smtp_source_seconds,
    workdir,
)
from fastapi.testclient import TestClient

from postroom.app import create_app
from postroom.enums import AuthMethod, Security
from postroom.gc_tuning import freeze_startup_objects
from postroom.mail.connect import Endpoint, NetworkOptions
from postroom.mail.credentials import Credentials
from postroom.mail.netguard import NetworkPolicy, parse_networks
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.sessions import open_smtp
from postroom.mail.smtp_client import Envelope, SmtpSender
from postroom.mail.smtp_probe import SmtpTarget
from postroom.services.delivery import DeliveryEngine
from postroom.services.runtime import Runtime

BATCH = 500  # the most POST /messages/batch takes


async def _own_client(port: int, count: int, size: int, connections: int) -> float:
    data = message_bytes(size)
    target = SmtpTarget(
        Endpoint("127.0.0.1", port, Security.NONE), Credentials(AuthMethod.NONE), SENDER
    )
    options = ProbeOptions(NetworkOptions(NetworkPolicy(parse_networks("127.0.0.0/8"))))
    left = [count]

    async def one() -> None:
        sender = SmtpSender(await open_smtp(target, options), timeout=60)
        try:
            while left[0] > 0:
                left[0] -= 1
                result = await sender.send(Envelope(SENDER, (RECIPIENT,), data))
                assert result.accepted
        finally:
            await sender.close()

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(connections)))
    return time.perf_counter() - start


async def _aiosmtplib(port: int, count: int, size: int, connections: int) -> float:
    data = message_bytes(size)
    left = [count]

    async def one() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        try:
            while left[0] > 0:
                left[0] -= 1
                await client.sendmail(SENDER, [RECIPIENT], data)
        finally:
            await client.quit()

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(connections)))
    return time.perf_counter() - start


def _deliver(runtime: Runtime, connections: int) -> float:
    engine = DeliveryEngine(runtime, worker_id="bench:1:a", options=bench_options(connections))
    freeze_startup_objects()  # as `postroom worker` does at start
    start = time.perf_counter()
    asyncio.run(engine.run(asyncio.Event(), until_idle=True))
    return time.perf_counter() - start


def _message_body(account_id: int, size: int) -> dict[str, object]:
    return {
        "to": [RECIPIENT],
        "subject": "Faktura VAT 2026/11/0001",
        "text": ("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n" * (size // 57)),
        "account_id": account_id,
        "document_kind": "invoice",
    }


def _enqueue_api(runtime: Runtime, token: str, account_id: int, count: int, size: int) -> float:
    body = _message_body(account_id, size)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(runtime)) as client:
        start = time.perf_counter()
        for _ in range(count):
            response = client.post("/api/v1/messages", json=body, headers=headers)
            assert response.status_code == 202, response.text
        return time.perf_counter() - start


def _enqueue_batch(runtime: Runtime, token: str, account_id: int, count: int, size: int) -> float:
    body = _message_body(account_id, size)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(runtime)) as client:
        start = time.perf_counter()
        for first in range(0, count, BATCH):
            items = [body] * min(BATCH, count - first)
            response = client.post("/api/v1/messages/batch", json={"items": items}, headers=headers)
            assert response.status_code == 202, response.text
        return time.perf_counter() - start


def _ratio(base: float, seconds: float) -> float:
    return round(base / seconds, 3) if seconds else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=20 * 1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=10)  # smtp-source's and the clients'
    parser.add_argument("--worker-connections", type=int, default=WORKER_CONNECTIONS)
    parser.add_argument("--api-messages", type=int, default=200)
    parser.add_argument("--batch-messages", type=int, default=2000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    n, size, conns = args.messages, args.size, args.connections
    times: dict[str, list[float]] = {}
    with workdir() as directory, smtp_sink() as port:
        runtimes = {}
        for backend in args.backends.split(","):
            runtime = runtime_for(backend, directory / backend)
            runtimes[backend] = (runtime, *setup_company(runtime, port))
        for _ in range(args.runs):
            times.setdefault("smtp_source", []).append(smtp_source_seconds(port, n, size, conns))
            times.setdefault("client_pipelined", []).append(
                asyncio.run(_own_client(port, n, size, conns))
            )
            times.setdefault("client_aiosmtplib", []).append(
                asyncio.run(_aiosmtplib(port, n, size, conns))
            )
            for backend, (runtime, company_id, account_id, token) in runtimes.items():
                empty_outbox(runtime)
                point_account(runtime, company_id, account_id, port)
                bulk_enqueue(runtime, company_id, account_id, n, size)
                times.setdefault(f"delivery_{backend}", []).append(
                    _deliver(runtime, args.worker_connections)
                )
                statuses = count_by_status(runtime)
                assert statuses == {"sent": n}, statuses
                empty_outbox(runtime)
                times.setdefault(f"enqueue_api_{backend}", []).append(
                    _enqueue_api(runtime, token, account_id, args.api_messages, size)
                )
                empty_outbox(runtime)
                times.setdefault(f"enqueue_batch_{backend}", []).append(
                    _enqueue_batch(runtime, token, account_id, args.batch_messages, size)
                )
        for runtime, *_ in runtimes.values():
            runtime.close()
    base = median(times["smtp_source"])
    for case, values in times.items():
        seconds = median(values)
        count = {"enqueue_api": args.api_messages, "enqueue_batch": args.batch_messages}.get(
            case.rsplit("_", 1)[0], n
        )
        emit(
            case,
            messages=count,
            size=size,
            runs=len(values),
            median_seconds=seconds,
            msgs_per_second=round(count / seconds, 1),
            ratio_to_smtp_source=None if case.startswith("enqueue") else _ratio(base, seconds),
        )
    for backend in runtimes:
        rate = args.batch_messages / median(times[f"enqueue_batch_{backend}"])
        total = n / rate + median(times[f"delivery_{backend}"])
        emit(
            f"end_to_end_{backend}",
            messages=n,
            enqueue_seconds=round(n / rate, 3),
            delivery_seconds=median(times[f"delivery_{backend}"]),
            median_seconds=round(total, 3),
            ratio_to_smtp_source=_ratio(base, total),
        )


if __name__ == "__main__":
    main()
