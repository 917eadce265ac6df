"""The worker's fetching against the real Dovecot: IDLE push makes new mail visible through the
API without waiting for the schedule, and "fetch now" wakes the worker at once."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

from fastapi.testclient import TestClient

from postroom.services.runtime import Runtime
from postroom.worker.fetch import run_fetching
from tests.fixtures.mailenv import MailEnv
from tests.support import Tenant
from tests.sync.support import fetch, folders, make_account, new_mailbox, stored

# Generous: the machine is shared; the measured latency is in benchmarks/bench_idle.py.
WAIT_SECONDS = 60.0


@contextlib.contextmanager
def running_worker(runtime: Runtime) -> Iterator[None]:
    """run_fetching in its own thread and event loop, as in a worker process."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(run_fetching(runtime, stop, worker_id="test"),)
    )
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=60)
        loop.close()


def _wait_for(check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("not seen in time")


def _message(subject: str, to: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Jan Kowalski <jan@firma.example.test>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@firma.example.test>"
    mail.set_content("Dzień dobry, to jest nowa wiadomość.\n")
    return mail.as_bytes(policy=SMTP)


def test_idle_push_shows_new_mail_through_the_api(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    account_id = make_account(
        runtime, tenant.company_id, mailenv, address, fetch_interval_minutes=600
    )
    assert fetch(runtime, tenant.company_id, account_id).error is None  # the first import
    inbox = folders(runtime, tenant.company_id, account_id)["INBOX"].id

    def listed(subject: str) -> list[dict[str, Any]]:
        response = client.get(
            "/api/v1/mail", params={"folder_id": inbox}, headers=tenant.admin.headers
        )
        assert response.status_code == 200, response.text
        return [m for m in response.json()["items"] if m["subject"] == subject]

    with running_worker(runtime):
        for number in range(2):
            subject = f"Push {number} {uuid.uuid4().hex[:6]}"
            mailenv.deliver(_message(subject, address), address)
            assert _wait_for(lambda s=subject: listed(s))  # type: ignore[misc]
    rows = stored(runtime, tenant.company_id, account_id)
    assert len(rows) == 2 and not any(r.from_history for r in rows)


def test_fetch_now_wakes_the_worker(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    account_id = make_account(runtime, tenant.company_id, mailenv, address)
    assert fetch(runtime, tenant.company_id, account_id).error is None
    mailenv.deliver(_message("Na żądanie", address), address)

    runtime.settings.fetch_idle = False  # only the request can start this fetch
    with running_worker(runtime):
        response = client.post(f"/api/v1/accounts/{account_id}/fetch", headers=tenant.admin.headers)
        assert response.status_code == 202

        def finished() -> bool:
            state = client.get(
                f"/api/v1/accounts/{account_id}/sync", headers=tenant.admin.headers
            ).json()
            return bool(state["phase"] == "idle" and state["last_new_messages"] == 1)

        _wait_for(finished)
    assert [r.subject for r in stored(runtime, tenant.company_id, account_id)] == ["Na żądanie"]
