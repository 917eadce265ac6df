"""POP3 download of 1,000 messages (41.6 MB, TLS): Postroom's fetch against a plain poplib loop.

Cases, each the median of --runs runs, the ratio = poplib's time / ours (above 1.0: faster):
  poplib_loop          USER/PASS, LIST, RETR 1..1000 over TLS, bytes kept in memory: the baseline
  poplib_to_files      the same, each message written to its own file, one syncfs at the end
  client_only          Postroom's POP3 client alone (pipelined RETR), bytes kept in memory
  pop3_listed_<db>     Postroom's fetch (leaving copies) until every message is stored
  pop3_searchable_<db> the same until every message is indexed for search

    python3 -m benchmarks.bench_pop3 [--runs 3] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import poplib
import ssl
import tempfile
import time
from pathlib import Path

from benchmarks.bench_sync_env import PASSWORD, POP_USER, BenchMailEnv, bench_mailenv
from benchmarks.bench_sync_setup import account_setup, fetch_timed, runtime_with_ca
from benchmarks.common import emit, median

from postroom.config import Settings
from postroom.enums import AuthMethod, IncomingProtocol, Security
from postroom.mail.connect import Endpoint
from postroom.mail.credentials import Credentials
from postroom.mail.imap_probe import MailboxTarget
from postroom.mail.pop3_client import close, listing, open_pop3, retrieve
from postroom.secrets import Secret
from postroom.services.sync_connect import IncomingAccount, fetch_options

MESSAGES = 1_000


def _poplib_loop(env: BenchMailEnv) -> tuple[float, int]:
    start = time.perf_counter()
    context = ssl.create_default_context(cafile=str(env.ca_file))
    client = poplib.POP3_SSL(env.host, env.ports["pop3s"], context=context)
    client.user(POP_USER)
    client.pass_(PASSWORD)
    count = len(client.list()[1])
    total = 0
    for number in range(1, count + 1):
        _response, lines, _octets = client.retr(number)
        total += len(b"\r\n".join(lines)) + 2
    client.quit()
    return time.perf_counter() - start, count


def _poplib_to_files(env: BenchMailEnv, directory: Path) -> float:
    start = time.perf_counter()
    context = ssl.create_default_context(cafile=str(env.ca_file))
    client = poplib.POP3_SSL(env.host, env.ports["pop3s"], context=context)
    client.user(POP_USER)
    client.pass_(PASSWORD)
    directory.mkdir(parents=True, exist_ok=True)
    for number in range(1, len(client.list()[1]) + 1):
        _response, lines, _octets = client.retr(number)
        (directory / str(number)).write_bytes(b"\r\n".join(lines) + b"\r\n")
    client.quit()
    os.sync()
    return time.perf_counter() - start


async def _client_only(env: BenchMailEnv) -> float:
    account = IncomingAccount(
        company_id=0,
        account_id=0,
        protocol=IncomingProtocol.POP3,
        target=MailboxTarget(
            Endpoint(env.host, env.ports["pop3s"], Security.TLS),
            Credentials(AuthMethod.PASSWORD, POP_USER, Secret(PASSWORD)),
            POP_USER,
        ),
        leave_on_server=True,
        fetch_since=None,
        email_address=POP_USER,
    )
    settings = Settings(allowed_networks="127.0.0.0/8", extra_ca_file=env.ca_file)
    start = time.perf_counter()
    session = await open_pop3(account.target, fetch_options(settings))
    listed = await listing(session)
    got = [raw async for _item, raw in retrieve(session, listed)]
    await close(session)
    assert len(got) == MESSAGES
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite")
    args = parser.parse_args()
    env = bench_mailenv()
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="postroom-bench-pop3-") as work:
        for run in range(args.runs):
            seconds, count = _poplib_loop(env)
            assert count == MESSAGES, count
            times.setdefault("poplib_loop", []).append(seconds)
            files = Path(work) / f"poplib-{run}"
            times.setdefault("poplib_to_files", []).append(_poplib_to_files(env, files))
            times.setdefault("client_only", []).append(asyncio.run(_client_only(env)))
            for backend in args.backends.split(","):
                runtime = runtime_with_ca(backend, Path(work) / f"{backend}-{run}", env)
                company_id, account_id, _ = account_setup(
                    runtime, env, POP_USER, "pop3", leave_on_server=True
                )
                timed = asyncio.run(fetch_timed(runtime, company_id, account_id))
                assert timed.stored == MESSAGES, timed
                times.setdefault(f"pop3_listed_{backend}", []).append(timed.listed)
                times.setdefault(f"pop3_searchable_{backend}", []).append(timed.searchable)
                runtime.close()
    base = median(times["poplib_loop"])
    for case, values in times.items():
        seconds = median(values)
        emit(
            case,
            messages=MESSAGES,
            runs=len(values),
            median_seconds=seconds,
            all_seconds=[round(v, 3) for v in values],
            ratio_poplib_over_ours=round(base / seconds, 3) if seconds else None,
        )


if __name__ == "__main__":
    main()
