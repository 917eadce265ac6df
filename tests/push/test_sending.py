"""Web Push end to end: subscribe through the public page's endpoint, queue, send with the
production adapter to a local push service, decrypt what arrived with the browser's keys."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from postroom.db.base import utcnow
from postroom.db.models_channels import ClientCommunication, PushMessage, PushSubscription
from postroom.enums import Channel, CommunicationStatus, PushStatus
from postroom.services import communications, push_queue
from postroom.services.runtime import Runtime
from tests.fixtures.push_service import PushService
from tests.push.support import make_office, send_now, subscribe
from tests.support import Tenant

URL = "https://biuro.example.test/klient/faktury/FV-12-2026"


def _queue(runtime: Runtime, tenant: Tenant, client_id: int, **text: str) -> tuple[list[int], int]:
    """Queue a message as client_notify does: a history row, then the push rows it carries."""
    with runtime.tenant(tenant.company_id) as session:
        row = communications.record(
            session,
            client_id=client_id,
            channel=Channel.WEBPUSH,
            source="notify",
            batch_key="test-batch",
            subject=text.get("title", "Termin VAT"),
            text=text.get("body", ""),
            created_by_user_id=None,
        )
        queued = push_queue.enqueue_push(
            session,
            client_id=client_id,
            communication_id=row.id,
            title=text.get("title", "Termin VAT"),
            body=text.get("body", "Zapłać VAT za październik do 25 listopada: 1 234,00 zł."),
            url=URL,
        )
        return [m.id for m in queued], row.id


def _message(runtime: Runtime, tenant: Tenant, message_id: int) -> PushMessage:
    with runtime.tenant(tenant.company_id) as session:
        message = session.get(PushMessage, message_id)
        assert message is not None
        session.expunge(message)
        return message


def _communication(runtime: Runtime, tenant: Tenant, row_id: int) -> ClientCommunication:
    with runtime.tenant(tenant.company_id) as session:
        row = session.get(ClientCommunication, row_id)
        assert row is not None
        session.expunge(row)
        return row


def test_a_push_message_is_encrypted_signed_and_decrypts_to_the_text(
    client: TestClient, runtime: Runtime, tenant: Tenant, push_service: PushService
) -> None:
    office = make_office(client, tenant.admin)
    browser = subscribe(client, tenant.admin, office, push_service, "ewa-laptop")
    ids, communication_id = _queue(runtime, tenant, office.client_id)
    assert len(ids) == 1

    assert send_now(runtime) == 1

    [arrived] = push_service.for_name("ewa-laptop")
    assert (arrived.status, arrived.problem) == (201, None)
    assert arrived.headers["content-encoding"] == "aes128gcm"
    assert arrived.headers["ttl"] == str(runtime.settings.webpush_ttl_seconds)
    assert arrived.headers["urgency"] == "normal"
    assert arrived.headers["host"] == push_service.origin.split("//")[1]  # not the address
    assert arrived.claims["sub"] == runtime.settings.webpush_subject
    assert arrived.claims["aud"] == push_service.origin
    assert browser.decrypt(arrived.body) == {
        "title": "Termin VAT",
        "body": "Zapłać VAT za październik do 25 listopada: 1 234,00 zł.",
        "url": URL,
    }
    message = _message(runtime, tenant, ids[0])
    assert (message.status, message.attempts, message.error) == (PushStatus.SENT, 1, None)
    assert message.sent_at is not None and message.lease_until is None
    # The worker brought the client's communication history up to date.
    assert _communication(runtime, tenant, communication_id).status is CommunicationStatus.SENT
    assert send_now(runtime) == 0  # sent once, never again


def test_every_live_browser_of_the_clients_contacts_gets_one(
    client: TestClient, runtime: Runtime, tenant: Tenant, push_service: PushService
) -> None:
    office = make_office(client, tenant.admin)
    second = make_office(client, tenant.admin, email="jan@inna.example.test")
    laptop = subscribe(client, tenant.admin, office, push_service, "laptop")
    phone = subscribe(client, tenant.admin, office, push_service, "phone")
    subscribe(client, tenant.admin, second, push_service, "other-client")
    ids, _ = _queue(runtime, tenant, office.client_id, body="Dwie przeglądarki")
    assert len(ids) == 2
    send_now(runtime)
    for name, browser in (("laptop", laptop), ("phone", phone)):
        [arrived] = push_service.for_name(name)
        assert browser.decrypt(arrived.body)["body"] == "Dwie przeglądarki"
    assert push_service.for_name("other-client") == []


def test_a_client_without_browsers_queues_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    office = make_office(client, tenant.admin)
    with runtime.tenant(tenant.company_id) as session:
        queued = push_queue.enqueue_push(
            session,
            client_id=office.client_id,
            communication_id=None,
            title="T",
            body="B",
            url=None,
        )
    assert queued == []


def test_gone_410_expires_the_subscription_for_good(
    client: TestClient, runtime: Runtime, tenant: Tenant, push_service: PushService
) -> None:
    office = make_office(client, tenant.admin)
    subscribe(client, tenant.admin, office, push_service, "uninstalled")
    push_service.answers["uninstalled"] = [410]
    ids, communication_id = _queue(runtime, tenant, office.client_id)
    send_now(runtime)

    message = _message(runtime, tenant, ids[0])
    assert message.status is PushStatus.EXPIRED
    assert message.error is not None and message.error.startswith("HTTP 410")
    with runtime.tenant(tenant.company_id) as session:
        subscription = session.scalars(select(PushSubscription)).one()
        assert subscription.expired_at is not None
    history = _communication(runtime, tenant, communication_id)
    assert history.status is CommunicationStatus.FAILED
    # Nothing is queued for it any more; the API still lists it, marked expired.
    again, _ = _queue(runtime, tenant, office.client_id)
    assert again == []
    listed = client.get(
        f"/api/v1/clients/{office.client_id}/push-subscriptions", headers=tenant.admin.headers
    ).json()
    assert [s["expired_at"] is not None for s in listed] == [True]


def test_a_push_service_failure_is_retried_until_it_answers(
    client: TestClient, runtime: Runtime, tenant: Tenant, push_service: PushService
) -> None:
    office = make_office(client, tenant.admin)
    browser = subscribe(client, tenant.admin, office, push_service, "busy")
    push_service.answers["busy"] = [503]
    ids, communication_id = _queue(runtime, tenant, office.client_id)
    send_now(runtime)

    waiting = _message(runtime, tenant, ids[0])
    assert (waiting.status, waiting.attempts) == (PushStatus.QUEUED, 1)
    assert waiting.error is not None and waiting.error.startswith("HTTP 503")
    assert waiting.next_attempt_at > utcnow()
    assert _communication(runtime, tenant, communication_id).status is CommunicationStatus.QUEUED
    assert send_now(runtime) == 0  # not due yet

    with runtime.platform() as session:
        session.execute(update(PushMessage).values(next_attempt_at=utcnow()))
    assert send_now(runtime) == 1
    sent = _message(runtime, tenant, ids[0])
    assert (sent.status, sent.attempts, sent.error) == (PushStatus.SENT, 2, None)
    assert [r.status for r in push_service.for_name("busy")] == [503, 201]
    assert browser.decrypt(push_service.for_name("busy")[1].body)["title"] == "Termin VAT"
    assert _communication(runtime, tenant, communication_id).status is CommunicationStatus.SENT


def test_a_temporary_failure_past_the_deadline_fails(
    client: TestClient, runtime: Runtime, tenant: Tenant, push_service: PushService
) -> None:
    office = make_office(client, tenant.admin)
    subscribe(client, tenant.admin, office, push_service, "down")
    push_service.answers["down"] = [500]
    ids, _ = _queue(runtime, tenant, office.client_id)
    hours = runtime.settings.webpush_retry_deadline_hours
    with runtime.platform() as session:
        session.execute(
            update(PushMessage).values(created_at=utcnow() - timedelta(hours=hours + 1))
        )
    send_now(runtime)
    failed = _message(runtime, tenant, ids[0])
    assert failed.status is PushStatus.FAILED
    assert failed.error is not None and failed.error.startswith("HTTP 500")


def test_a_refused_vapid_signature_fails_at_once(
    client: TestClient, runtime: Runtime, tenant: Tenant, push_service: PushService
) -> None:
    office = make_office(client, tenant.admin)
    subscribe(client, tenant.admin, office, push_service, "other-key")
    # The push service knows the subscription under another application server key: it
    # refuses the VAPID authorization with 403 (RFC 8292 §4.2), which no retry can fix.
    push_service.keys["other-key"] = (
        "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )
    ids, communication_id = _queue(runtime, tenant, office.client_id)
    send_now(runtime)
    [arrived] = push_service.for_name("other-key")
    assert arrived.status == 403
    failed = _message(runtime, tenant, ids[0])
    assert failed.status is PushStatus.FAILED
    assert failed.error is not None and "403" in failed.error and "VAPID" in failed.error
    assert _communication(runtime, tenant, communication_id).status is CommunicationStatus.FAILED


def test_plain_http_works_only_towards_an_allowed_network(
    client: TestClient, runtime: Runtime, tenant: Tenant, plain_push_service: PushService
) -> None:
    # Loopback is allowed in the tests (POSTROOM_ALLOWED_NETWORKS): a local push service.
    office = make_office(client, tenant.admin)
    browser = subscribe(client, tenant.admin, office, plain_push_service, "local")
    assert browser.endpoint.startswith("http://127.0.0.1:")
    _queue(runtime, tenant, office.client_id, title="Przez http")
    send_now(runtime)
    [arrived] = plain_push_service.for_name("local")
    assert arrived.status == 201
    assert browser.decrypt(arrived.body)["title"] == "Przez http"


def test_a_long_text_is_shortened_to_fit_one_push_message(
    client: TestClient, runtime: Runtime, tenant: Tenant, push_service: PushService
) -> None:
    office = make_office(client, tenant.admin)
    browser = subscribe(client, tenant.admin, office, push_service, "long")
    _queue(runtime, tenant, office.client_id, body="ż" * 5000)
    send_now(runtime)
    [arrived] = push_service.for_name("long")
    assert arrived.status == 201 and len(arrived.body) <= 4096
    body = browser.decrypt(arrived.body)["body"]
    assert body.startswith("żżż") and body.endswith("…") and len(body) < 5000


def test_a_claimed_message_is_not_claimed_twice_and_a_lost_lease_is_not_written(
    client: TestClient, runtime: Runtime, tenant: Tenant, push_service: PushService
) -> None:
    office = make_office(client, tenant.admin)
    subscribe(client, tenant.admin, office, push_service, "lease")
    ids, _ = _queue(runtime, tenant, office.client_id)
    now = utcnow()
    with runtime.platform() as session:
        first = push_queue.claim_due(session, now=now, lease_seconds=60)
    with runtime.platform() as session:
        assert push_queue.claim_due(session, now=now, lease_seconds=60) == []
    # The first worker's lease runs out (it died); a second worker takes the message over.
    later = now + timedelta(seconds=61)
    with runtime.platform() as session:
        second = push_queue.claim_due(session, now=later, lease_seconds=60)
    assert [c.id for c in first] == [c.id for c in second] == ids
    from postroom.notify.webpush import PushOutcome, PushResult

    sent = PushResult(PushOutcome.SENT, 201)
    with runtime.platform() as session:
        stale = push_queue.record(
            session, [push_queue.Attempt(first[0], sent)], now=later, deadline=timedelta(hours=1)
        )
        current = push_queue.record(
            session, [push_queue.Attempt(second[0], sent)], now=later, deadline=timedelta(hours=1)
        )
    assert (stale, current) == (0, 1)
    assert _message(runtime, tenant, ids[0]).status is PushStatus.SENT
