"""Web UI fixtures: the app in a real uvicorn server, Debian's chromium through Playwright."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect, sync_playwright

from postroom.app import create_app
from postroom.config import Settings
from postroom.db.models import User
from postroom.services import accounts
from postroom.services.account_schemas import AccountCreate
from postroom.services.runtime import Runtime
from tests.autoconfig.servers import DnsServer
from tests.fixtures.mailenv import MailEnv
from tests.support import Member, Tenant

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 15.0
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


# A domain whose mail settings only its DNS SRV records name (RFC 6186): they lead to the local
# Postfix and Dovecot, by a name their certificate holds.
SRV_DOMAIN = "srv-poczta.example.test"
MAIL_HOST = "localhost"


@dataclass(frozen=True)
class LiveServer:
    url: str
    runtime: Runtime


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    server = DnsServer()
    yield server
    server.close()


@pytest.fixture
def settings(settings: Settings, dns_server: DnsServer, mailenv: MailEnv) -> Settings:
    """Autodiscovery asks only the local DNS server: no test depends on the internet."""
    for label, port in (
        ("_submission._tcp", mailenv.submission_port),
        ("_imaps._tcp", mailenv.imaps_port),
    ):
        dns_server.add(f"{label}.{SRV_DOMAIN}", "SRV", f"0 1 {port} {MAIL_HOST}.")
    return settings.model_copy(
        update={
            "dns_nameservers": "127.0.0.1",
            "dns_port": dns_server.port,
            "autodiscovery_timeout_seconds": 3.0,
        }
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` in uvicorn on a free loopback port in a thread; yield its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(runtime: Runtime) -> Iterator[LiveServer]:
    """The whole service as `postroom serve` builds it (web UI with the API under /api/v1)."""
    for url in serve(create_app(runtime)):
        yield LiveServer(url=url, runtime=runtime)


# Module scope: sync Playwright keeps an event loop marked running in this thread, which
# would break asyncio.run() in tests of other modules if it lived for the whole session.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, locale="pl-PL")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    problems: list[str] = []
    # A script error or a Content-Security-Policy violation shows up here; a 4xx page only
    # logs "Failed to load resource", which some tests cause on purpose.
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield tab
    context.close()
    assert problems == [], f"errors in the browser console: {problems}"


@pytest.fixture
def login(page: Page) -> Callable[[Member], Page]:
    """Log `member` in through the login form; the page then shows the accounts list."""

    def do_login(member: Member) -> Page:
        page.goto("/login")
        page.fill("#email", member.email)
        page.fill("#password", member.password)
        page.click("button[type=submit]")
        expect(page).to_have_url(re.compile(r"/accounts$"))
        return page

    return do_login


def csrf_from(html: str) -> str:
    found = _CSRF_INPUT.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def web_login(client: httpx.Client, member: Member) -> str:
    """Log `member` in with `client` (which keeps the cookies); return the session's CSRF token."""
    form = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": member.email,
            "password": member.password,
            "csrf_token": csrf_from(form.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/accounts").text)


@pytest.fixture
def admin_tenant(tenant_factory: Callable[..., Tenant]) -> Tenant:
    return tenant_factory("Biuro Rachunkowe Alfa")


def make_account(
    runtime: Runtime, tenant: Tenant, email: str, *, actor: Member | None = None, **fields: object
) -> int:
    """An account created through the service, as `actor` (default: the administrator)."""
    who = actor or tenant.admin
    with runtime.tenant(tenant.company_id) as session:
        user = session.get(User, who.id)
        data = AccountCreate.model_validate(
            {"email_address": email, "smtp_host": "smtp.example.test", **fields}
        )
        account = accounts.create_account(session, actor=user, data=data, box=runtime.secret_box)
        return account.id
