"""The browser fixtures of the web tests (a live server, Debian's chromium, logging in)."""

from __future__ import annotations

from tests.web.conftest import browser, live_server, login, page

__all__ = ["browser", "live_server", "login", "page"]
