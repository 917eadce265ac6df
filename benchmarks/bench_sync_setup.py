"""What the receiving benchmarks share: a runtime trusting the test CA, a company with an
account on the benchmark mailenv, a timed fetch, and the API's count of listed messages."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_sync_env import PASSWORD, BenchMailEnv
from benchmarks.common import PG_URL, fresh_database
from fastapi.testclient import TestClient

from postroom.config import Settings
from postroom.db.models import Account
from postroom.db.tenancy import rescope
from postroom.enums import AuthMethod, IncomingProtocol, Role, Security
from postroom.gc_tuning import freeze_startup_objects
from postroom.secrets import Secret, new_key
from postroom.services import companies, tokens, users
from postroom.services.runtime import Runtime, build_runtime
from postroom.services.sync_context import Progress
from postroom.services.sync_progress import SyncPhase
from postroom.services.sync_run import run_fetch

_KEYS: dict[str, str] = {}  # one secret key per data directory, for reopened runtimes


def bench_settings(backend: str, directory: Path, env: BenchMailEnv, **extra: object) -> Settings:
    directory.mkdir(parents=True, exist_ok=True)
    key = _KEYS.setdefault(str(directory), new_key())
    url = PG_URL if backend == "postgresql" else f"sqlite:///{directory / 'postroom.db'}"
    return Settings(
        data_dir=directory,
        database_url=url,
        secret_key=key,  # type: ignore[arg-type]
        allowed_networks="127.0.0.0/8",
        extra_ca_file=env.ca_file,
        **extra,  # type: ignore[arg-type]
    )


def runtime_with_ca(
    backend: str, directory: Path, env: BenchMailEnv, *, fresh: bool = True, **extra: object
) -> Runtime:
    settings = bench_settings(backend, directory, env, **extra)
    if fresh:
        fresh_database(settings)
    return build_runtime(settings)


def new_company(runtime: Runtime) -> tuple[int, str]:
    """A company and its administrator's API token."""
    with runtime.platform() as session:
        company = companies.create_company(session, name="Bench")
        rescope(session, company.id)
        admin = users.create_user(
            session,
            actor=None,
            company_id=company.id,
            email=f"admin-{uuid.uuid4().hex[:8]}@bench.test",
            password="Bench-Passw0rd-unused-9",  # noqa: S106  (a throw-away benchmark user)
            role=Role.ADMIN,
        )
        session.flush()
        token = tokens.issue_token(session, actor=None, user=admin, name="bench").plaintext
        return company.id, token


def add_account(
    runtime: Runtime, company_id: int, env: BenchMailEnv, user: str, protocol: str, **fields: object
) -> int:
    imap = protocol == "imap"
    with runtime.tenant(company_id) as session:
        account = Account(
            email_address=user,
            incoming_protocol=IncomingProtocol(protocol),
            incoming_host=env.host,
            incoming_port=env.ports["imaps" if imap else "pop3s"],
            incoming_security=Security.TLS,
            incoming_auth=AuthMethod.PASSWORD,
            incoming_username=user,
            incoming_password_encrypted=runtime.secret_box.encrypt(Secret(PASSWORD)),
            **fields,
        )
        session.add(account)
        session.flush()
        return account.id


def account_setup(
    runtime: Runtime, env: BenchMailEnv, user: str, protocol: str, **fields: object
) -> tuple[int, int, str]:
    company_id, token = new_company(runtime)
    return company_id, add_account(runtime, company_id, env, user, protocol, **fields), token


@dataclass(frozen=True)
class TimedFetch:
    listed: float  # seconds until the last batch was committed (listed by the API)
    searchable: float  # seconds until the fetch ended, indexing included
    stored: int


async def fetch_timed(runtime: Runtime, company_id: int, account_id: int) -> TimedFetch:
    # Every timed case starts with the disk's write-back done: mbsync's 10,000 files and our
    # segments both leave hundreds of MB of dirty pages that would slow the next case.
    os.sync()
    freeze_startup_objects()  # as `postroom worker` does at start
    start = time.perf_counter()
    listed = [0.0]

    def progress(step: Progress) -> None:
        if step.phase in (SyncPhase.FETCHING, SyncPhase.FOLDERS):
            listed[0] = time.perf_counter() - start

    result = await run_fetch(
        runtime,
        company_id=company_id,
        account_id=account_id,
        worker_id="bench",
        on_progress=progress,
    )
    if result.error is not None:
        raise RuntimeError(f"the fetch failed: {result.error}")
    return TimedFetch(listed[0], time.perf_counter() - start, result.new_messages)


def api_total(runtime: Runtime, token: str, account_id: int) -> int:
    """How many messages GET /api/v1/mail lists for the account's INBOX."""
    from postroom.app import create_app

    with TestClient(create_app(runtime)) as client:
        response = client.get(
            "/api/v1/mail",
            params={"account_id": account_id, "limit": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
        return int(response.json()["total"])
