"""Helpers of the mail pages' action tests: posting the pages' forms as a browser does."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient

from tests.support import Member
from tests.web.conftest import web_login


def login(client: TestClient, member: Member) -> str:
    """Log in (as someone else too: the old session's cookies go); the session's CSRF token."""
    client.cookies.clear()
    return web_login(client, member)


def post(client: TestClient, url: str, csrf: str, **fields: object) -> httpx.Response:
    data = {"csrf_token": csrf, **fields}
    return client.post(url, data=data, follow_redirects=False)  # type: ignore[arg-type]


def act(
    client: TestClient, csrf: str, action: str, ids: list[int], *, back: str, **fields: object
) -> httpx.Response:
    """The list's bulk form: the ticked `ids` and the pressed button's `action`."""
    return post(client, "/mail/actions", csrf, action=action, ids=ids, next=back, **fields)


def done_of(response: httpx.Response) -> dict[str, list[str]]:
    """The redirect's target query (`done`, `n`, and the page's own)."""
    assert response.status_code == 303, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)


def text_of(page: str) -> str:
    """The page's text without tags, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
