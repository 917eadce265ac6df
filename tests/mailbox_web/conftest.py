"""Fixtures of the mail pages' actions: the mailbox on the test Dovecot (tests/mailbox) and the
browser fixtures of tests/web."""

from __future__ import annotations

from tests.mailbox.conftest import imap_mailbox
from tests.web.conftest import browser, live_server, login, page

__all__ = ["browser", "imap_mailbox", "live_server", "login", "page"]
