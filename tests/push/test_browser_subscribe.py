"""Turning notifications on in Debian's chromium, in a normal (not incognito) profile: the Push
API is off in incognito contexts, which is what Playwright's new_context() makes.

A real PushManager.subscribe() needs the browser vendor's push service (Google's, for
chromium) on the internet, which test machines do not have: the test checks the page gets
the permission, calls subscribe() with the server's VAPID key, and tells the person it failed
without storing anything. Everything after subscribe() (the server encrypts, a push service
takes it, the browser's keys decrypt it) is covered end to end by test_sending.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect, sync_playwright
from sqlalchemy import func, select

from postroom.db.models_channels import PushSubscription
from postroom.notify.webpush import b64url_decode
from postroom.services import vapid_keys
from tests.push.test_browser import _token
from tests.support import Tenant
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer


@pytest.fixture
def profile(tmp_path: Path, live_server: LiveServer) -> Iterator[tuple[BrowserContext, list[str]]]:
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            base_url=live_server.url,
            locale="pl-PL",
            permissions=["notifications"],
        )
        context.set_default_timeout(10_000)
        problems: list[str] = []
        context.on("weberror", lambda error: problems.append(str(error.error)))
        yield context, problems
        context.close()


_RECORD_SUBSCRIBE = """
window.subscribeCalls = [];
const original = PushManager.prototype.subscribe;
PushManager.prototype.subscribe = function (options) {
  window.subscribeCalls.push({
    userVisibleOnly: options.userVisibleOnly,
    key: Array.from(new Uint8Array(options.applicationServerKey)),
  });
  return original.call(this, options);
};
"""


def test_turning_on_asks_for_permission_and_subscribes_with_the_vapid_key(
    profile: tuple[BrowserContext, list[str]], live_server: LiveServer, tenant: Tenant
) -> None:
    context, problems = profile
    token = _token(live_server, tenant)
    public_key = vapid_keys.public_key(live_server.runtime)
    page = context.pages[0] if context.pages else context.new_page()
    page.add_init_script(_RECORD_SUBSCRIBE)  # watches the call; the browser's own code runs
    page.goto(f"/push/{token}")
    expect(page.locator("#push-panel")).to_have_attribute("data-worker-state", "registered")
    expect(page.locator("#push-status")).to_have_attribute("data-state", "off")
    page.click("#push-enable")

    page.wait_for_function("window.subscribeCalls.length === 1")
    [call] = page.evaluate("window.subscribeCalls")
    assert call == {"userVisibleOnly": True, "key": list(b64url_decode(public_key))}
    assert page.evaluate("Notification.permission") == "granted"
    # Chromium now registers with Google's push service, which is out of reach here: the page
    # waits (it gives up after 45 s) and nothing is stored meanwhile.
    expect(page.locator("#push-status")).to_have_text("Chwileczkę…")
    expect(page.locator("#push-enable")).to_be_disabled()
    with live_server.runtime.platform() as session:
        assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0
    assert problems == []
