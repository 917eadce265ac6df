"""The Web Push API: the VAPID public key, push links, a client's browsers; tenancy; no secrets."""

from __future__ import annotations

import base64
import logging

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import select

from postroom.db.models_channels import VapidKey
from postroom.services import vapid_keys
from postroom.services.runtime import Runtime
from tests.fixtures.push_service import PushService
from tests.push.support import make_office, send_now, subscribe, vapid_public_key
from tests.push.test_sending import _queue
from tests.support import Tenant


def test_the_vapid_public_key_is_a_p256_point_made_once(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    key = vapid_public_key(client, tenant.admin)
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)  # on the curve
    assert vapid_public_key(client, tenant.add_user()) == key  # one key for everyone
    assert vapid_keys.ensure_vapid_key(runtime) == key  # a restart keeps it
    with runtime.platform() as session:
        assert len(session.scalars(select(VapidKey)).all()) == 1
    assert client.get("/api/v1/push/vapid-public-key").status_code == 401


def test_another_companys_contacts_and_clients_are_not_found(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, push_service: PushService
) -> None:
    mine = make_office(client, tenant.admin)
    subscribe(client, tenant.admin, mine, push_service, "mine")
    theirs = other_tenant.admin.headers
    link = client.post(f"/api/v1/contacts/{mine.contact_id}/push-link", headers=theirs)
    assert link.status_code == 404 and link.json()["code"] == "not_found"
    listed = client.get(f"/api/v1/clients/{mine.client_id}/push-subscriptions", headers=theirs)
    assert listed.status_code == 404
    # The link still works: the other company's attempt changed nothing.
    assert client.get(f"/push/{mine.token}").status_code == 200
    assert (
        client.post("/api/v1/contacts/999999/push-link", headers=tenant.admin.headers).status_code
        == 404
    )


def test_any_user_of_the_company_makes_links_and_sees_browsers_without_keys(
    client: TestClient, tenant: Tenant, push_service: PushService
) -> None:
    office = make_office(client, tenant.admin)
    browser = subscribe(client, tenant.admin, office, push_service, "listed")
    user = tenant.add_user()
    link = client.post(f"/api/v1/contacts/{office.contact_id}/push-link", headers=user.headers)
    assert link.status_code == 200 and link.json()["url"].startswith("http")
    response = client.get(
        f"/api/v1/clients/{office.client_id}/push-subscriptions", headers=user.headers
    )
    assert response.status_code == 200
    [listed] = response.json()
    assert listed["contact_id"] == office.contact_id
    assert listed["client_id"] == office.client_id
    assert listed["push_service"] == "localhost"
    assert listed["expired_at"] is None
    text = response.text
    assert browser.p256dh not in text and browser.endpoint not in text
    assert base64.urlsafe_b64encode(browser.auth).rstrip(b"=").decode() not in text


def test_the_vapid_private_key_never_leaves_the_server(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    push_service: PushService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    office = make_office(client, tenant.admin)
    subscribe(client, tenant.admin, office, push_service, "leak")
    push_service.answers["leak"] = [403]  # a refusal: its error text is stored and logged
    _queue(runtime, tenant, office.client_id)
    send_now(runtime)
    with runtime.platform() as session:
        pem, _public = vapid_keys.private_key(session, runtime.secret_box)
        stored = session.scalars(select(VapidKey)).one().private_key_encrypted
    body = "".join(pem.reveal().splitlines()[1:-1])  # the PEM's base64 without its armour
    assert "PRIVATE KEY" in pem.reveal() and body not in stored
    seen = [
        client.get("/api/v1/push/vapid-public-key", headers=tenant.admin.headers).text,
        client.get(f"/push/{office.token}").text,
        client.get(
            f"/api/v1/clients/{office.client_id}/push-subscriptions", headers=tenant.admin.headers
        ).text,
        client.get("/api/v1/openapi.json").text,
    ]
    for record in caplog.records:
        seen.append(record.getMessage())
        seen.append(repr(record.__dict__))
    assert not any(body in text or body[:40] in text for text in seen)
    assert "Secret('**********')" in repr(pem)
    if runtime.settings.effective_database_url.startswith("sqlite"):
        database = runtime.settings.data_dir / "postroom.db"
        assert body[:40].encode() not in database.read_bytes()
