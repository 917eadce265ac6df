"""The public push page in Debian's chromium: it explains itself, registers the service worker,
and the worker shows a push message as a notification.

A real PushManager.subscribe() needs the browser vendor's push service (Google's, for
chromium) on the internet, which test machines do not have: the page's subscribe call is
made and its failure is shown to the person; the message path after it (server encrypts,
push service, browser decrypts) is covered end to end by test_sending.py, and the service
worker's part here by delivering a push message through the DevTools protocol.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import select

from postroom.db.models_channels import PushSubscription
from postroom.services import push_queue, vapid_keys
from tests.fixtures.push_service import PushService
from tests.push.support import send_now
from tests.support import Tenant
from tests.web.conftest import LiveServer

_WAIT = 10.0


def _api(server: LiveServer, tenant: Tenant, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/api/v1/{path}", headers=tenant.admin.headers, json=body)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def _token(server: LiveServer, tenant: Tenant) -> str:
    firm = _api(server, tenant, "clients", {"name": "Piekarnia Kłos"})
    person = _api(
        server,
        tenant,
        "contacts",
        {"email": "anna@klos.example.test", "name": "Anna Kłos", "client_id": firm["id"]},
    )
    link = _api(server, tenant, f"contacts/{person['id']}/push-link", {})
    return str(link["url"].rsplit("/", 1)[-1])


def test_the_page_explains_registers_its_worker_and_shows_a_push(
    page: Page, live_server: LiveServer, tenant: Tenant
) -> None:
    token = _token(live_server, tenant)
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.goto(f"/push/{token}")

    expect(page.locator("#push-title")).to_have_text("Powiadomienia od Biuro Rachunkowe Alfa")
    expect(page.locator("#push-contact")).to_have_text("Dla: Anna Kłos")
    expect(page.locator("#push-explain")).to_contain_text("przypomnienia o terminach podatków")
    expect(page.locator("#push-enable")).to_have_text("Włącz powiadomienia")
    expect(page.locator("#push-panel")).to_have_attribute("data-worker-state", "registered")
    expect(page.locator("#push-status")).to_have_text(
        "Powiadomienia są wyłączone w tej przeglądarce."
    )
    scope = f"{live_server.url}/push/{token}"
    registered = page.evaluate(
        """async (scope) => {
            const reg = await navigator.serviceWorker.getRegistration(scope);
            const worker = reg.active || reg.waiting || reg.installing;
            return {scope: reg.scope, script: worker.scriptURL};
        }""",
        scope,
    )
    assert registered == {"scope": scope, "script": f"{live_server.url}/push-sw.js"}

    # The browser would get this from the push service, decrypted: the worker shows it.
    message = {"title": "Termin ZUS", "body": "Składki do 20 listopada.", "url": "/x"}
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + _WAIT
    while not any(r["scopeURL"] == scope for r in registrations) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    registration_id = next(r["registrationId"] for r in registrations if r["scopeURL"] == scope)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration_id, "data": json.dumps(message)},
    )
    shown = page.wait_for_function(
        """async (scope) => {
            const reg = await navigator.serviceWorker.getRegistration(scope);
            const all = await reg.getNotifications();
            if (!all.length) return null;
            return {title: all[0].title, body: all[0].body, url: all[0].data.url};
        }""",
        arg=scope,
        timeout=_WAIT * 1000,
    ).json_value()
    assert shown == {
        "title": "Termin ZUS",
        "body": "Składki do 20 listopada.",
        "url": f"{live_server.url}/x",
    }


def test_the_page_sends_the_browsers_subscription_and_it_receives_a_push(
    page: Page, live_server: LiveServer, tenant: Tenant, push_service: PushService
) -> None:
    """Past subscribe(): the page posts what the browser gave, the server sends to it. The
    browser's subscribe() is replaced by one that answers as a browser would, with a
    subscription at the local push service (the real one needs Google's, see above)."""
    token = _token(live_server, tenant)
    runtime = live_server.runtime
    browser_keys = push_service.subscribe("page", vapid_keys.public_key(runtime))
    page.add_init_script(
        "PushManager.prototype.subscribe = function () {"
        f"  const json = {json.dumps(browser_keys.to_json())};"
        "  return Promise.resolve({endpoint: json.endpoint, toJSON: () => json});"
        "};"
    )
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.goto(f"/push/{token}")
    expect(page.locator("#push-panel")).to_have_attribute("data-worker-state", "registered")
    page.click("#push-enable")
    expect(page.locator("#push-status")).to_have_text(
        "Powiadomienia są włączone w tej przeglądarce."
    )
    expect(page.locator("#push-disable")).to_be_visible()

    with runtime.tenant(tenant.company_id) as session:
        [subscription] = session.scalars(select(PushSubscription)).all()
        assert subscription.endpoint == browser_keys.endpoint
        assert "Chrome" in subscription.user_agent
        queued = push_queue.enqueue_push(
            session,
            client_id=subscription.client_id or 0,
            communication_id=None,
            title="Dokumenty",
            body="Prosimy o dokumenty za październik do 5 listopada.",
            url=None,
        )
    assert len(queued) == 1
    # Sync Playwright keeps an event loop running in this thread: send from another one.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(send_now, runtime).result() == 1
    [arrived] = push_service.for_name("page")
    assert browser_keys.decrypt(arrived.body)["title"] == "Dokumenty"
