"""The mail pages in Debian's chromium: the list, reading, images only when asked, no script
ever running, search; a tiny local web server stands in for a sender's image host."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from postroom.services.runtime import Runtime
from tests.reading.support import CORPUS, corpus, mailbox, store
from tests.support import Member, Tenant

Login = Callable[[Member], Page]
PNG = (CORPUS / "logo.png").read_bytes()


@dataclass
class ImageHost:
    """Answers every GET with a small PNG and remembers the paths asked for."""

    url: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def image_host() -> Iterator[ImageHost]:
    host = ImageHost(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host.requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield host
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def _remote_message(host: ImageHost) -> bytes:
    raw = corpus("remote_and_script.eml").decode()
    for scheme in ("http", "https"):
        raw = raw.replace(f"{scheme}://tracker.example.test", host.url)
    return raw.encode()


def test_reading_mail_with_remote_images_blocked_until_asked_and_no_script(
    login: Login, runtime: Runtime, tenant: Tenant, image_host: ImageHost
) -> None:
    _, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    alt, remote = store(
        runtime, tenant, inbox, [corpus("alternative_pl.eml"), _remote_message(image_host)]
    )
    page = login(tenant.admin)
    page.locator(".mainnav").get_by_role("link", name="Poczta").click()
    expect(page.locator("h1")).to_have_text("Poczta")
    rows = page.locator("tr.mail-row")
    expect(rows).to_have_count(2)
    expect(page.locator(".mail-folder.has-unread .mail-unread-count")).to_have_text("2")
    unread_subject = page.locator(f'tr[data-mail-id="{alt}"] .mail-subject a')
    expect(unread_subject).to_have_css("font-weight", "700")

    # A message's text, in the frame.
    unread_subject.click()
    expect(page.locator("h1")).to_have_text("Faktura VAT 12/2026 – zażółć gęślą jaźń")
    frame = page.frame_locator("iframe.mail-frame")
    expect(frame.locator("body")).to_contain_text("Żółć i gęś — pozdrawiam serdecznie.")
    page.get_by_role("link", name="Wróć do listy").click()
    expect(page.locator(f'tr[data-mail-id="{alt}"]')).not_to_have_class(re.compile("is-unread"))

    # Remote images: nothing is asked of their server until "Show images".
    page.locator(f'tr[data-mail-id="{remote}"] .mail-subject a').click()
    sandbox = page.locator("iframe.mail-frame").get_attribute("sandbox") or ""
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
    body = frame.locator("body")
    expect(body).to_contain_text("Sprawdź naszą nową ofertę księgową.")
    frame_page = next(f for f in page.frames if f.url.endswith(f"/mail/{remote}/body"))
    frame_page.wait_for_load_state("load")  # every image the frame would load has been tried
    assert image_host.requests == []
    expect(frame.locator('img[alt="Logo firmy"]')).to_have_attribute(
        "src", re.compile("^data:image/svg")
    )

    with page.expect_request(lambda request: request.url.startswith(image_host.url)):
        page.get_by_role("link", name="Pokaż obrazy").click()
    logo = frame.locator('img[alt="Logo firmy"]')
    expect(logo).to_have_attribute("src", f"{image_host.url}/logo.png")
    expect(logo).to_have_js_property("naturalWidth", 2)
    assert "/logo.png" in image_host.requests and "/pixel.png" in image_host.requests
    expect(page.get_by_role("link", name="Pokaż obrazy")).to_have_count(0)

    # No script of the message ran: not in the frame, not in the page.
    assert body.get_attribute("data-pwned") is None
    assert frame.locator("script, iframe, form, object, svg").count() == 0
    assert page.title().startswith("Newsletter: nowa oferta")
    assert page.evaluate("document.body.getAttribute('data-pwned')") is None
    assert "/steal" not in " ".join(image_host.requests)


def test_search_finds_a_message(login: Login, runtime: Runtime, tenant: Tenant) -> None:
    _, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    alt, attach, iso = store(
        runtime,
        tenant,
        inbox,
        [corpus("alternative_pl.eml"), corpus("attachment_pl.eml"), corpus("iso8859_2.eml")],
    )
    page = login(tenant.admin)
    page.goto("/mail")
    expect(page.locator("tr.mail-row")).to_have_count(3)
    page.get_by_placeholder("Szukaj w poczcie").fill("gęślą jaźń")
    page.get_by_placeholder("Szukaj w poczcie").press("Enter")
    expect(page.locator(".mail-list-head h2")).to_have_text("Wyniki wyszukiwania: „gęślą jaźń”")
    expect(page.locator("tr.mail-row")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/mail\?q="))  # pushed: a reload shows the same
    assert parse_qs(urlparse(page.url).query) == {"q": ["gęślą jaźń"]}
    found = [page.locator("tr.mail-row").nth(i).get_attribute("data-mail-id") for i in range(2)]
    assert found == [str(iso), str(alt)]

    page.get_by_placeholder("Szukaj w poczcie").fill("umowa")
    page.get_by_placeholder("Szukaj w poczcie").press("Enter")
    expect(page.locator("tr.mail-row")).to_have_count(1)
    page.locator(f'tr[data-mail-id="{attach}"] .mail-subject a').click()
    expect(page.locator(".mail-attachments")).to_contain_text("Faktura żółć 12.pdf")
    expect(page.locator(".mail-body pre")).to_contain_text("W załączniku faktura i umowa.")
    with page.expect_download() as download:
        page.get_by_role("link", name="Faktura żółć 12.pdf").click()
    assert download.value.suggested_filename == "Faktura żółć 12.pdf"
