"""Helpers of the Web Push tests: a client with a contact and a push link, a subscribed browser."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from postroom.services.push_queue import send_due
from postroom.services.runtime import Runtime
from tests.fixtures.push_service import PushService, Subscriber
from tests.support import Member


@dataclass(frozen=True)
class Office:
    client_id: int
    contact_id: int
    token: str
    link: str


def post(client: TestClient, member: Member, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1/{path}", headers=member.headers, json=body)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def make_office(
    client: TestClient, member: Member, email: str = "ewa@nowak.example.test"
) -> Office:
    """A client company with one contact person and the contact's push link."""
    firm = post(client, member, "clients", {"name": "Nowak Sp. z o.o."})
    person = post(
        client, member, "contacts", {"email": email, "name": "Ewa Nowak", "client_id": firm["id"]}
    )
    link = post(client, member, f"contacts/{person['id']}/push-link", {})
    token = link["url"].rsplit("/", 1)[-1]
    return Office(firm["id"], person["id"], token, link["url"])


def vapid_public_key(client: TestClient, member: Member) -> str:
    response = client.get("/api/v1/push/vapid-public-key", headers=member.headers)
    assert response.status_code == 200, response.text
    key: str = response.json()["public_key"]
    return key


def subscribe(
    client: TestClient, member: Member, office: Office, service: PushService, name: str
) -> Subscriber:
    """What the page's script does once the browser has subscribed."""
    subscriber = service.subscribe(name, vapid_public_key(client, member))
    response = client.post(f"/push/{office.token}/subscriptions", json=subscriber.to_json())
    assert response.status_code == 201, response.text
    return subscriber


def send_now(runtime: Runtime) -> int:
    return asyncio.run(send_due(runtime))
