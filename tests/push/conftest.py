"""Web Push fixtures: the local push service (tests/fixtures/push_service.py) and the browser
fixtures of the web tests (the public page in chromium)."""

from __future__ import annotations

from tests.fixtures.push_service import plain_push_service, push_service
from tests.web.conftest import browser, live_server, page

__all__ = ["browser", "live_server", "page", "plain_push_service", "push_service"]
