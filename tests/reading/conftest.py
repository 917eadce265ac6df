"""The browser fixtures of tests/web (the app in uvicorn, Debian's chromium, logging in)."""

from __future__ import annotations

from tests.web.conftest import browser, live_server, login, page

__all__ = ["browser", "live_server", "login", "page"]
