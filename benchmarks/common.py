"""What the outbox benchmarks share: smtp-sink/smtp-source, databases, queued messages, output."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from postroom.config import Settings
from postroom.db.base import utcnow
from postroom.db.engine import make_engine
from postroom.db.migrate import upgrade
from postroom.db.models import Account, Company
from postroom.db.tenancy import rescope
from postroom.enums import AuthMethod, EmailMode, Role, Security
from postroom.secrets import new_key
from postroom.services import companies, tokens, users
from postroom.services.delivery import DeliveryOptions
from postroom.services.outbox_tables import BODIES, MESSAGES, RECIPIENTS
from postroom.services.runtime import Runtime, build_runtime

SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
SENDER = "bench@example.test"
RECIPIENT = "sink@example.test"
# SMTP connections of the worker in the delivery cases, as many as smtp-source's sessions.
# Each holds back its next message's final "." until the previous result is committed: more
# connections keep the sink busier while commits are under way, but each can leave one
# accepted message unrecorded at a crash (benchmarks/README.md has both figures).
WORKER_CONNECTIONS = 10
PG_URL = os.environ.get(
    "POSTROOM_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/outbox_bench"
)


def emit(case: str, **fields: Any) -> None:
    print(json.dumps({"case": case, **fields}), flush=True)


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def smtp_sink(dump_dir: Path | None = None) -> Iterator[int]:
    """Postfix's smtp-sink on a free loopback port; with `dump_dir` every message is kept."""
    port = free_port()
    args = [SINK, "-u", "nobody"]
    if dump_dir is not None:
        dump_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(dump_dir, 0o777)  # noqa: S103  (smtp-sink writes as nobody; a benchmark's tmp)
        args += ["-d", f"{dump_dir}/%H%M%S."]
    process = subprocess.Popen([*args, f"127.0.0.1:{port}", "1024"])
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def smtp_source_seconds(port: int, count: int, size: int, sessions: int = 10) -> float:
    """The baseline: Postfix's own load generator, reused connections (-d)."""
    start = time.perf_counter()
    subprocess.run(
        [
            *(SOURCE, "-s", str(sessions), "-m", str(count), "-l", str(size), "-d"),
            *("-f", SENDER, "-t", RECIPIENT, f"127.0.0.1:{port}"),
        ],
        check=True,
    )
    return time.perf_counter() - start


def message_bytes(size: int, marker: str = "MSGID") -> bytes:
    """A realistic text message of about `size` bytes; `marker` stands for its Message-ID."""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = RECIPIENT
    message["Subject"] = "Faktura VAT 2026/11/0001"
    message["Message-ID"] = f"<{marker}>"
    line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n"
    message.set_content(line * max(1, size // len(line)))
    return message.as_bytes(policy=SMTP)


def new_settings(backend: str, data_dir: Path) -> Settings:
    url = PG_URL if backend == "postgresql" else f"sqlite:///{data_dir / 'postroom.db'}"
    return Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key=new_key(),  # type: ignore[arg-type]
        allowed_networks="127.0.0.0/8",
    )


def fresh_database(settings: Settings) -> None:
    engine = make_engine(settings.effective_database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()


def empty_outbox(runtime: Runtime) -> None:
    with runtime.engine.begin() as connection:
        for table in ("delivery_attempts", "outbox_recipients", "outbox_bodies", "outbox_messages"):
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608  (fixed names)


def setup_company(runtime: Runtime, sink_port: int) -> tuple[int, int, str]:
    """A company on its own servers, an account sending to the sink, an API token."""
    with runtime.platform() as session:
        company = companies.create_company(session, name="Bench")
        rescope(session, company.id)
        company_id = company.id
    with runtime.tenant(company_id) as session:
        row = session.get(Company, company_id)
        assert row is not None
        row.email_mode = EmailMode.OWN
        admin = users.create_user(
            session,
            actor=None,
            company_id=company_id,
            email=f"admin-{uuid.uuid4().hex[:6]}@bench.test",
            password="Bench-Passw0rd-unused-9",  # noqa: S106  (a throw-away benchmark user)
            role=Role.ADMIN,
        )
        session.flush()
        token = tokens.issue_token(session, actor=None, user=admin, name="bench").plaintext
        account = Account(
            owner_user_id=admin.id,
            email_address=SENDER,
            smtp_host="127.0.0.1",
            smtp_port=sink_port,
            smtp_security=Security.NONE,
            smtp_auth=AuthMethod.NONE,
        )
        session.add(account)
        session.flush()
        return company_id, account.id, token


def point_account(runtime: Runtime, company_id: int, account_id: int, port: int) -> None:
    with runtime.tenant(company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None
        account.smtp_port = port


def bulk_enqueue(
    runtime: Runtime, company_id: int, account_id: int, count: int, size: int
) -> list[str]:
    """`count` queued messages as the messages service leaves them; their Message-IDs."""
    template = message_bytes(size)
    now = utcnow()
    ids = [f"{uuid.uuid4().hex}@example.test" for _ in range(count)]
    rows = []
    raws = {}
    for message_id in ids:
        raw = template.replace(b"MSGID", message_id.encode())
        raws[message_id] = raw
        rows.append(
            {
                "company_id": company_id,
                "account_id": account_id,
                "via_relay": False,
                "document_kind": "invoice",
                "from_own_template": False,
                "status": "queued",
                "message_id": message_id,
                "envelope_from": SENDER,
                "subject": "Faktura",
                "size": len(raw),
                "next_attempt_at": now,
                "deadline_at": now + timedelta(days=3),
                "attempt_count": 0,
                "sent_copy_status": "not_needed",
                "created_at": now,
            }
        )
    with runtime.engine.begin() as connection:
        for start in range(0, count, 1000):
            connection.execute(insert(MESSAGES), rows[start : start + 1000])
        found = connection.execute(
            select(MESSAGES.c.id, MESSAGES.c.message_id).where(MESSAGES.c.status == "queued")
        ).all()
        bodies = [
            {"company_id": company_id, "message_id": mid, "mime": raws[message_id]}
            for mid, message_id in found
        ]
        for start in range(0, len(bodies), 1000):
            connection.execute(insert(BODIES), bodies[start : start + 1000])
        recipients = [
            {
                "company_id": company_id,
                "message_id": mid,
                "address": RECIPIENT,
                "kind": "to",
                "status": "pending",
                "updated_at": now,
            }
            for mid, _message_id in found
        ]
        for start in range(0, len(recipients), 1000):
            connection.execute(insert(RECIPIENTS), recipients[start : start + 1000])
    return ids


def count_by_status(runtime: Runtime) -> dict[str, int]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT status, count(*) FROM outbox_messages GROUP BY status")
        )
        return {status: int(n) for status, n in rows}


def bench_options(connections: int = WORKER_CONNECTIONS, lease: float = 300.0) -> DeliveryOptions:
    return DeliveryOptions(
        connections_per_route=connections,
        batch_size=200,
        lease_seconds=lease,
        smtp_timeout=60,
        connect_timeout=10,
        poll_seconds=0.05,
        idle_seconds=1.0,
    )


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="postroom-bench-"))
    path.chmod(0o755)  # smtp-sink writes its dumps as nobody
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def runtime_for(backend: str, directory: Path) -> Runtime:
    directory.mkdir(parents=True, exist_ok=True)
    settings = new_settings(backend, directory)
    fresh_database(settings)
    return build_runtime(settings)


def python() -> str:
    return sys.executable
