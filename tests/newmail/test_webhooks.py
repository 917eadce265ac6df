"""Webhooks: the API (admin-only, secret shown once, stored encrypted) and signed delivery
with retries to a local endpoint."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from postroom.db.base import utcnow
from postroom.db.models_crm import WebhookDelivery, WebhookEndpoint
from postroom.enums import JobStatus
from postroom.secrets import SecretBox, new_key, parse_keys
from postroom.services.runtime import Runtime, build_runtime
from postroom.services.webhook_delivery import deliver_due
from postroom.services.webhooks import reencrypt_secrets
from postroom.worker.webhooks import deliver_webhooks
from tests.newmail.support import arrive, message, rows, set_account
from tests.newmail.webhook_receiver import webhook_receiver
from tests.support import Tenant
from tests.worker.outbox_support import make_account


def _create(client: TestClient, tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/webhooks", headers=tenant.admin.headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_the_secret_is_shown_once_and_stored_encrypted(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    made = _create(
        client,
        tenant,
        {"url": "https://erp.example.test/hooks", "events": ["task.created", "contact.created"]},
    )
    secret = made["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert made["events"] == ["contact.created", "task.created"] and made["active"] is True
    listed = client.get("/api/v1/webhooks", headers=tenant.admin.headers)
    one = client.get(f"/api/v1/webhooks/{made['id']}", headers=tenant.admin.headers)
    for response in (listed, one):
        assert response.status_code == 200 and secret not in response.text
        assert "secret" not in response.text
    (stored,) = rows(runtime, tenant.company_id, WebhookEndpoint)
    assert secret not in stored.secret_encrypted
    assert runtime.secret_box.decrypt(stored.secret_encrypted).reveal() == secret


def test_only_administrators_manage_webhooks(client: TestClient, tenant: Tenant) -> None:
    user = tenant.add_user()
    made = _create(client, tenant, {"url": "https://erp.example.test/hooks"})
    for method, path in (
        ("POST", "/webhooks"),
        ("GET", "/webhooks"),
        ("GET", f"/webhooks/{made['id']}"),
        ("DELETE", f"/webhooks/{made['id']}"),
    ):
        response = client.request(
            method, f"/api/v1{path}", headers=user.headers, json={"url": "https://x.example.test/"}
        )
        assert response.status_code == 403, (method, path)
        assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://erp.example.test/hooks"}, "url"),
        ({"url": "erp.example.test/hooks"}, "url"),
        ({"url": "https://user:pass@erp.example.test/hooks"}, "url"),
        ({"url": "https://erp.example.test/a b"}, "url"),
        ({"url": "https://erp.example.test/" + "a" * 2000}, "url"),
        ({"url": "https://erp.example.test/", "events": ["mail.deleted"]}, "events.0"),
        ({"url": "https://erp.example.test/", "secret": "mine"}, "secret"),
        ({}, "url"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/webhooks", headers=tenant.admin.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert "pass@" not in response.text  # submitted values are not echoed


def test_deleting_a_webhook_drops_its_pending_deliveries(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    made = _create(client, tenant, {"url": "https://erp.example.test/hooks"})
    response = client.post(
        "/api/v1/contacts", headers=tenant.admin.headers, json={"email": "jan@firma-b.pl"}
    )
    assert response.status_code == 201
    assert len(rows(runtime, tenant.company_id, WebhookDelivery)) == 1
    deleted = client.delete(f"/api/v1/webhooks/{made['id']}", headers=tenant.admin.headers)
    assert deleted.status_code == 204
    assert rows(runtime, tenant.company_id, WebhookDelivery) == []
    gone = client.get(f"/api/v1/webhooks/{made['id']}", headers=tenant.admin.headers)
    assert gone.status_code == 404


def _mail_with_webhook(
    client: TestClient, runtime: Runtime, tenant: Tenant, url: str
) -> tuple[str, list[int]]:
    made = _create(client, tenant, {"url": url, "events": ["contact.created", "task.created"]})
    account = make_account(runtime, tenant.company_id, email_address="biuro@alfa.example.test")
    set_account(runtime, tenant.company_id, account, create_contacts=True, create_tasks=True)
    ids = arrive(runtime, tenant.company_id, account, [message()])
    return made["secret"], ids


def _deliveries(runtime: Runtime, tenant: Tenant) -> list[WebhookDelivery]:
    return rows(runtime, tenant.company_id, WebhookDelivery)


def _make_due(runtime: Runtime) -> None:
    with runtime.platform() as session:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == JobStatus.PENDING)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def test_events_are_posted_signed_to_the_endpoint(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    with webhook_receiver() as receiver:
        secret, ids = _mail_with_webhook(client, runtime, tenant, receiver.url)
        assert deliver_webhooks(runtime) == 2  # the worker's periodic job
    assert [r.path for r in receiver.received] == ["/hooks/postroom?source=test"] * 2
    by_event = {r.headers["x-postroom-event"]: r for r in receiver.received}
    assert set(by_event) == {"contact.created", "task.created"}
    for event, received in by_event.items():
        assert received.signed_with(secret), event
        assert not received.signed_with(secret + "x")
        document = received.document
        assert document["event"] == event
        assert received.headers["x-postroom-delivery"] == str(document["id"])
        assert received.headers["content-type"] == "application/json"
    task = by_event["task.created"].document["data"]
    assert task["mail_message_id"] == ids[0] and task["title"] == "Zapytanie o fakturę"
    contact = by_event["contact.created"].document["data"]
    assert contact["email"] == "jan.kowalski@kowalski-serwis.pl"
    assert task["contact_id"] == contact["id"]
    delivered = _deliveries(runtime, tenant)
    assert {(d.status, d.attempts) for d in delivered} == {(JobStatus.DONE, 1)}
    assert all(d.delivered_at is not None for d in delivered)
    assert asyncio.run(deliver_due(runtime)) == 0  # nothing twice


def test_a_failing_endpoint_is_retried_until_it_answers(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    with webhook_receiver() as receiver:
        receiver.statuses = [500, 503]
        secret, _ = _mail_with_webhook(client, runtime, tenant, receiver.url)
        assert asyncio.run(deliver_due(runtime)) == 2
        waiting = _deliveries(runtime, tenant)
        assert {d.status for d in waiting} == {JobStatus.PENDING}
        assert sorted(d.last_error or "" for d in waiting) == [
            "HTTP 500: Service busy, try later",
            "HTTP 503: Service busy, try later",
        ]
        assert all(d.next_attempt_at > utcnow() for d in waiting)  # backing off
        assert asyncio.run(deliver_due(runtime)) == 0  # not due yet
        _make_due(runtime)
        assert asyncio.run(deliver_due(runtime)) == 2
    done = _deliveries(runtime, tenant)
    assert {(d.status, d.attempts, d.last_error) for d in done} == {(JobStatus.DONE, 2, None)}
    first, retry = receiver.received[0], receiver.received[2]
    assert first.headers["x-postroom-delivery"] in {
        r.headers["x-postroom-delivery"] for r in receiver.received[2:]
    }
    assert retry.signed_with(secret)
    # A retry sends the very same bytes: the receiver can drop a repeat by its id.
    same = [
        r
        for r in receiver.received
        if r.headers["x-postroom-delivery"] == first.headers["x-postroom-delivery"]
    ]
    assert len({r.body for r in same}) == 1


def test_a_delivery_past_its_deadline_fails_with_the_last_error(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    with webhook_receiver() as receiver:
        receiver.statuses = [500, 500]
        _mail_with_webhook(client, runtime, tenant, receiver.url)
        with runtime.platform() as session:
            session.execute(
                update(WebhookDelivery).values(created_at=utcnow() - timedelta(hours=25))
            )
        asyncio.run(deliver_due(runtime))
    failed = _deliveries(runtime, tenant)
    assert {(d.status, d.last_error) for d in failed} == {
        (JobStatus.FAILED, "HTTP 500: Service busy, try later")
    }


def test_an_unreachable_endpoint_is_retried_with_the_network_error(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    with webhook_receiver() as receiver:
        url = receiver.url
    _mail_with_webhook(client, runtime, tenant, url)  # the server is gone: connection refused
    asyncio.run(deliver_due(runtime))
    waiting = _deliveries(runtime, tenant)
    assert {d.status for d in waiting} == {JobStatus.PENDING}
    assert all((d.last_error or "").startswith("ConnectError") for d in waiting)


def test_internal_addresses_are_refused_unless_the_operator_allows_them(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    strict = build_runtime(runtime.settings.model_copy(update={"allowed_networks": ""}))
    try:
        with webhook_receiver() as receiver:
            _mail_with_webhook(client, runtime, tenant, receiver.url)
            asyncio.run(deliver_due(strict))
        assert receiver.received == []
        waiting = _deliveries(runtime, tenant)
        assert all("internal address" in (d.last_error or "") for d in waiting)
        assert {d.status for d in waiting} == {JobStatus.PENDING}
    finally:
        strict.close()


def test_a_delivery_claimed_by_a_worker_that_died_is_taken_over(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    with webhook_receiver() as receiver:
        _mail_with_webhook(client, runtime, tenant, receiver.url)
        with runtime.platform() as session:  # claimed, and the lease ran out
            session.execute(
                update(WebhookDelivery).values(
                    status=JobStatus.RUNNING, next_attempt_at=utcnow() - timedelta(seconds=1)
                )
            )
        assert asyncio.run(deliver_due(runtime)) == 2
    assert {d.status for d in _deliveries(runtime, tenant)} == {JobStatus.DONE}


def test_a_running_delivery_under_lease_is_not_taken(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    with webhook_receiver() as receiver:
        _mail_with_webhook(client, runtime, tenant, receiver.url)
        with runtime.platform() as session:
            session.execute(
                update(WebhookDelivery).values(
                    status=JobStatus.RUNNING, next_attempt_at=utcnow() + timedelta(minutes=5)
                )
            )
        assert asyncio.run(deliver_due(runtime)) == 0
    assert receiver.received == []
    with runtime.platform() as session:
        assert session.scalar(select(WebhookDelivery.status).limit(1)) is JobStatus.RUNNING


def test_secret_rotation_re_encrypts_webhook_secrets(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    secret = _create(client, tenant, {"url": "https://erp.example.test/hooks"})["secret"]
    assert runtime.settings.secret_key is not None
    old_key = runtime.settings.secret_key.get_secret_value()
    newest = new_key()
    ring = SecretBox(parse_keys(f"{newest},{old_key}"))
    with runtime.platform() as session:
        assert reencrypt_secrets(session, ring) == 1
    (stored,) = rows(runtime, tenant.company_id, WebhookEndpoint)
    assert SecretBox(parse_keys(newest)).decrypt(stored.secret_encrypted).reveal() == secret
