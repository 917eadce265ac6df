"""The public push page's endpoints: what a browser may subscribe with, clear refusals, links."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from postroom.config import Settings
from postroom.db.models_channels import PushSubscription
from postroom.services.runtime import Runtime, build_runtime
from tests.fixtures.push_service import PushService
from tests.push.support import Office, make_office, post, subscribe, vapid_public_key
from tests.support import Tenant


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _subscription(service: PushService, client: TestClient, tenant: Tenant) -> dict[str, Any]:
    return service.subscribe("x", vapid_public_key(client, tenant.admin)).to_json()


def _refused(client: TestClient, office: Office, body: Any, status: int = 422) -> dict[str, Any]:
    response = client.post(f"/push/{office.token}/subscriptions", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    return problem


def _count(runtime: Runtime) -> int:
    with runtime.platform() as session:
        return int(session.scalar(select(func.count()).select_from(PushSubscription)) or 0)


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"keys": {"auth": "AAAA"}}, "invalid_p256dh", "keys.p256dh must be an uncompressed P-256"),
        ({"p256dh": _b64(b"\x04" + b"\x01" * 64)}, "invalid_p256dh", "P-256 public key (65 bytes)"),
        ({"p256dh": "not base64!"}, "invalid_p256dh", "base64url"),
        ({"auth": _b64(os.urandom(15))}, "invalid_auth", "keys.auth must be 16 random bytes"),
        ({"endpoint": "ftp://push.example.test/x"}, "invalid_endpoint", "https://"),
        ({"endpoint": "https://user:pw@push.example.test/x"}, "invalid_endpoint", "https://"),
        ({"endpoint": "https://push.example.test/a b"}, "invalid_endpoint", "without spaces"),
        # A public address over plain http: a push service always uses TLS (RFC 8030 §8).
        ({"endpoint": "http://93.184.216.34/push/x"}, "endpoint_not_https", "https://"),
        ({"endpoint": "https://10.1.2.3/push/x"}, "endpoint_not_allowed", "internal address"),
        ({"endpoint": "https://[fd00::1]/push/x"}, "endpoint_not_allowed", "internal address"),
        ({"endpoint": "https://169.254.169.254/x"}, "endpoint_not_allowed", "internal address"),
        ({"endpoint": None}, "invalid_endpoint", "no endpoint"),
    ],
)
def test_an_invalid_subscription_is_refused_with_a_clear_error(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    push_service: PushService,
    change: dict[str, Any],
    code: str,
    words: str,
) -> None:
    office = make_office(client, tenant.admin)
    body = _subscription(push_service, client, tenant)
    for key, value in change.items():
        if key in ("p256dh", "auth"):
            body["keys"][key] = value
        else:
            body[key] = value
    problem = _refused(client, office, body)
    assert problem["code"] == code
    assert words in problem["detail"]
    assert problem["errors"][0]["code"] == code
    assert _count(runtime) == 0  # nothing half-written


def test_a_body_that_is_not_a_subscription_is_refused(client: TestClient, tenant: Tenant) -> None:
    office = make_office(client, tenant.admin)
    assert _refused(client, office, ["endpoint"])["code"] == "invalid_body"
    assert _refused(client, office, {"endpoint": "https://a.example.test"})["code"] == (
        "invalid_keys"
    )
    response = client.post(
        f"/push/{office.token}/subscriptions",
        content=b"endpoint=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422 and response.json()["code"] == "invalid_body"
    response = client.post(
        f"/push/{office.token}/subscriptions",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422 and response.json()["code"] == "invalid_body"


def test_an_internal_push_service_is_refused_in_production(
    settings: Settings, tenant_factory: Any, push_service: PushService
) -> None:
    """Without POSTROOM_ALLOWED_NETWORKS, loopback (as any internal address) is refused."""
    from postroom.app import create_app

    production = build_runtime(settings.model_copy(update={"allowed_networks": ""}))
    try:
        tenant = tenant_factory()
        with TestClient(create_app(production)) as client:
            office = make_office(client, tenant.admin)
            body = push_service.subscribe("lo", vapid_public_key(client, tenant.admin)).to_json()
            problem = _refused(client, office, body)
            assert problem["code"] == "endpoint_not_allowed"
            assert "POSTROOM_ALLOWED_NETWORKS" in problem["detail"]
            body["endpoint"] = "https://no-such-host.invalid/push/x"
            assert _refused(client, office, body)["code"] == "endpoint_unknown_host"
    finally:
        production.close()


def test_subscribing_again_renews_and_unsubscribing_forgets(
    client: TestClient, runtime: Runtime, tenant: Tenant, push_service: PushService
) -> None:
    office = make_office(client, tenant.admin)
    browser = subscribe(client, tenant.admin, office, push_service, "again")
    again = client.post(f"/push/{office.token}/subscriptions", json=browser.to_json())
    assert again.status_code == 201
    assert _count(runtime) == 1
    gone = client.request(
        "DELETE", f"/push/{office.token}/subscriptions", json={"endpoint": browser.endpoint}
    )
    assert gone.status_code == 204
    assert _count(runtime) == 0


def test_an_unknown_or_replaced_link_is_not_found(
    client: TestClient, tenant: Tenant, push_service: PushService
) -> None:
    office = make_office(client, tenant.admin)
    body = _subscription(push_service, client, tenant)
    assert client.get("/push/no-such-token").status_code == 404
    missing = client.post("/push/no-such-token/subscriptions", json=body)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    # A new link replaces the old one (a link passed on can be cut off).
    renewed = post(client, tenant.admin, f"contacts/{office.contact_id}/push-link", {})
    assert renewed["url"] != office.link
    assert client.get(f"/push/{office.token}").status_code == 404
    new_token = renewed["url"].rsplit("/", 1)[-1]
    assert client.get(f"/push/{new_token}").status_code == 200


def test_an_endpoint_of_another_company_is_a_conflict(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, push_service: PushService
) -> None:
    mine = make_office(client, tenant.admin)
    theirs = make_office(client, other_tenant.admin)
    browser = subscribe(client, tenant.admin, mine, push_service, "copied")
    problem = _refused(client, theirs, browser.to_json(), status=409)
    assert problem["code"] == "subscription_taken"


def test_the_page_explains_in_polish_and_english(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    office = make_office(client, tenant.admin)
    polish = client.get(f"/push/{office.token}")
    assert polish.status_code == 200
    assert "Włącz powiadomienia" in polish.text
    assert "Powiadomienia od Biuro Rachunkowe Alfa" in polish.text
    assert "terminach podatków, składek ZUS" in polish.text
    assert "script-src 'self'" in polish.headers["content-security-policy"]
    assert "<script>" not in polish.text  # the script comes from /static (strict CSP)
    with runtime.platform() as session:
        from postroom.db.models_channels import VapidKey

        key = session.scalars(select(VapidKey)).one()
    assert f'data-vapid-key="{key.public_key}"' in polish.text
    english = client.get(f"/push/{office.token}", headers={"Accept-Language": "en-GB,en"})
    assert "Turn on notifications" in english.text
    assert "Turn on notifications" in client.get(f"/push/{office.token}?lang=en").text
    worker = client.get("/push-sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert "showNotification" in worker.text and "notificationclick" in worker.text
