"""Helpers of the channel tests: clients and contacts through the API, notify, history."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select

from postroom.app import create_app
from postroom.db.base import Base
from postroom.db.models_channels import PushSubscription
from postroom.services.runtime import Runtime
from tests.sms.support import free_port
from tests.support import Member, Tenant

API = "/api/v1"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def make_client(api: TestClient, member: Member, name: str = "Klient Gamma", **fields: Any) -> Any:
    body = {"name": name, **fields}
    return ok(api.post(f"{API}/clients", headers=member.headers, json=body), 201)


def make_contact(
    api: TestClient, member: Member, client_id: int, email: str, phone: str | None = None
) -> Any:
    body = {"email": email, "name": email.split("@")[0].title(), "client_id": client_id}
    if phone is not None:
        body["phone"] = phone
    return ok(api.post(f"{API}/contacts", headers=member.headers, json=body), 201)


def patch_client(api: TestClient, member: Member, client_id: int, **fields: Any) -> Any:
    return api.patch(f"{API}/clients/{client_id}", headers=member.headers, json=fields)


def enable_office_sms(api: TestClient, admin: Member) -> None:
    state = ok(api.get(f"{API}/office/sms", headers=admin.headers))
    body = {"enabled": True, "accept_price_list": state["price_list"]["name"]}
    ok(api.put(f"{API}/office/sms", headers=admin.headers, json=body))


def notify(api: TestClient, member: Member, client_id: int, **body: Any) -> Any:
    payload = {"subject": "Termin płatności VAT", "text": "Prosimy o wpłatę do 25.11.", **body}
    return api.post(f"{API}/clients/{client_id}/notify", headers=member.headers, json=payload)


def outcomes_by_channel(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["channel"]: o for o in result["outcomes"]}


def history(api: TestClient, member: Member, client_id: int, **params: Any) -> Any:
    return ok(
        api.get(f"{API}/clients/{client_id}/communications", headers=member.headers, params=params)
    )


def subscribe_browser(
    runtime: Runtime, tenant: Tenant, client_id: int, contact_id: int, number: int = 1
) -> int:
    """A browser's subscription as the public page stores it (the push helper tests that
    page); the notify call only needs the row."""
    with runtime.tenant(tenant.company_id) as session:
        row = PushSubscription(
            client_id=client_id,
            contact_id=contact_id,
            endpoint=f"https://push.example.test/send/{tenant.slug}-{contact_id}-{number}",
            p256dh="B" + "A" * 86,
            auth="A" * 22,
        )
        session.add(row)
        session.flush()
        return row.id


def rows_of(runtime: Runtime, tenant: Tenant, model: type[Base], **where: Any) -> list[Any]:
    with runtime.tenant(tenant.company_id) as session:
        statement = select(model).filter_by(**where).order_by(model.id)  # type: ignore[attr-defined]
        found = list(session.scalars(statement))
        session.expunge_all()
        return found


@contextmanager
def live_server(runtime: Runtime) -> Iterator[LiveApp]:
    """The app in uvicorn on a free port in a thread; `stopped()` says whether it shut down,
    which it cannot while a response (an open stream) is still running."""
    port = free_port()
    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=port, log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    live = LiveApp(f"http://127.0.0.1:{port}", server, thread)
    try:
        yield live
    finally:
        live.stop()


@dataclass
class LiveApp:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, wait: float = 20.0) -> bool:
        """Ask uvicorn to shut down; True once it has (every response finished)."""
        self.server.should_exit = True
        self.thread.join(timeout=wait)
        return not self.thread.is_alive()


@dataclass(frozen=True)
class SseEvent:
    id: str | None
    event: str
    data: str


class SseReader:
    """Reads an open text/event-stream response line by line (WHATWG HTML §9.2.6)."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()
        self.comments: list[str] = []

    def next_event(self) -> SseEvent:
        fields: dict[str, str] = {}
        for line in self.lines:
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            if line == "":
                if "data" in fields:
                    return SseEvent(
                        fields.get("id"), fields.get("event", "message"), fields["data"]
                    )
                fields = {}
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        raise AssertionError("the stream ended")

    def wait_comment(self, text: str) -> None:
        for line in self.lines:
            if line.startswith(":") and line[1:].strip() == text:
                return
            if line.startswith("data:"):
                raise AssertionError(f"an event came instead of the comment: {line}")
        raise AssertionError("the stream ended")
