"""Exactly once: real worker processes against one database, one killed mid-transaction.

Each (client, kind, period) must end with exactly one ReminderSend row and exactly one
communication row per enabled channel, however the workers interleave and die."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from postroom.config import Settings
from postroom.db.models_crm import Notification
from postroom.enums import Channel
from postroom.services.runtime import Runtime
from tests.reminders.support import communications_per_batch, make_client, sends
from tests.support import Tenant

DAY = date(2026, 11, 17)  # ZUS (20th) and income tax (20th) reminders for October are due
KINDS = ("income_tax", "zus")
ROOT = Path(__file__).resolve().parents[2]
# Only to fail instead of hanging if a worker never gets there; nothing is timed.
SAFETY_SECONDS = 120


class Workers:
    """Starts scheduler processes on the test's database; kills what is left at the end."""

    def __init__(self, settings: Settings) -> None:
        assert settings.secret_key is not None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("POSTROOM_")}
        self.env.update(
            POSTROOM_DATA_DIR=str(settings.data_dir),
            POSTROOM_DATABASE_URL=settings.effective_database_url,
            POSTROOM_SECRET_KEY=settings.secret_key.get_secret_value(),
            PYTHONPATH=str(ROOT),
        )
        self.started: list[subprocess.Popen[str]] = []

    def start(self, pause_at: int = 0) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "tests.reminders.scheduler_process", DAY.isoformat()]
        process = subprocess.Popen(
            [*command, "--pause-at", str(pause_at)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(process)
        return process

    @staticmethod
    def paused(process: subprocess.Popen[str]) -> str:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("paused "), (line, process.stderr.read() if process.stderr else "")
        return line.split()[1]

    @staticmethod
    def finish(process: subprocess.Popen[str]) -> int:
        out, err = process.communicate(timeout=SAFETY_SECONDS)
        assert process.returncode == 0, err
        assert "reminder failed" not in err, err
        return int(out.split()[-1])

    @staticmethod
    def kill(process: subprocess.Popen[str]) -> None:
        process.send_signal(signal.SIGKILL)  # kill -9: no cleanup, the transaction is open
        process.communicate(timeout=SAFETY_SECONDS)
        assert process.returncode == -signal.SIGKILL

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.communicate()


@pytest.fixture
def workers(settings: Settings) -> Iterator[Workers]:
    started = Workers(settings)
    yield started
    started.close()


def _clients(
    runtime: Runtime, tenant: Tenant, other: Tenant
) -> dict[int, tuple[int, set[Channel]]]:
    """Client id → (its company, its enabled channels); 2 contacts each."""
    web = {Channel.INAPP, Channel.WEBPUSH}
    made = {}
    for number in range(5):
        mail = number % 2 == 0  # e-mail on for some: its own history row, whatever it says
        client_id = make_client(
            runtime, tenant.company_id, f"Klient {number}", contacts_count=2, channel_email=mail
        )
        made[client_id] = (tenant.company_id, web | ({Channel.EMAIL} if mail else set()))
    made[make_client(runtime, other.company_id, "Obcy", contacts_count=2)] = (
        other.company_id,
        web,
    )
    return made


def _assert_exactly_once(runtime: Runtime, made: dict[int, tuple[int, set[Channel]]]) -> None:
    for company_id in {company for company, _ in made.values()}:
        mine = {cid: channels for cid, (company, channels) in made.items() if company == company_id}
        expected = sorted((cid, kind, "2026-10") for cid in mine for kind in KINDS)
        assert sends(runtime, company_id) == expected
        per_batch = communications_per_batch(runtime, company_id)
        assert set(per_batch.values()) == {1}, per_batch
        wanted = {
            (f"reminder-{cid}-{kind}-2026-10", channel)
            for cid, channels in mine.items()
            for kind in KINDS
            for channel in channels
        }
        assert set(per_batch) == wanted
        with runtime.tenant(company_id) as session:
            feed = session.scalar(select(func.count()).select_from(Notification))
        assert feed == len(mine) * len(KINDS) * 2  # one per contact person and reminder


def _wait_until_blocked(runtime: Runtime, process: subprocess.Popen[str]) -> None:
    """PostgreSQL: until a backend waits on a lock (the second worker's insert on the first
    one's uncommitted unique key)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    give_up = time.monotonic() + SAFETY_SECONDS
    while time.monotonic() < give_up:
        assert process.poll() is None, process.communicate()
        with runtime.engine.connect() as connection:
            if connection.scalar(query):
                return
        time.sleep(0.05)
    pytest.fail("the second worker never waited for the first one's reminder")


def test_a_killed_worker_and_a_second_worker_send_each_reminder_once(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant, workers: Workers
) -> None:
    made = _clients(runtime, tenant, other_tenant)
    first = workers.start(pause_at=3)  # two reminders committed, the third one open
    held = workers.paused(first)
    postgres = runtime.engine.dialect.name == "postgresql"
    if postgres:
        # A second worker at the same time: it reaches the held reminder and waits on it.
        second = workers.start()
        _wait_until_blocked(runtime, second)
        workers.kill(first)
    else:
        # SQLite has one writer at a time: the workers run one after another.
        workers.kill(first)
        second = workers.start()
    assert workers.finish(second) == len(made) * len(KINDS) - 2  # the held one included
    batches = communications_per_batch(runtime, tenant.company_id)
    assert {channel for batch, channel in batches if batch == held}  # sent by the second
    restarted = workers.start()  # the killed worker comes back: nothing is left to send
    assert workers.finish(restarted) == 0
    _assert_exactly_once(runtime, made)


def test_two_workers_racing_from_the_start(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant, workers: Workers
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the test above runs them in turn")
    made = _clients(runtime, tenant, other_tenant)
    racing = [workers.start(), workers.start()]
    counts = [workers.finish(process) for process in racing]
    assert sum(counts) == len(made) * len(KINDS)
    _assert_exactly_once(runtime, made)
