"""Campaign test fixtures: Postroom reached over https (one-click unsubscribe needs it); the
browser fixtures of the web tests, with the service's own worker running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from postroom.app import create_app
from postroom.config import Settings
from postroom.services.runtime import Runtime
from tests.web.conftest import LiveServer, browser, login, page, serve  # noqa: F401

PUBLIC_URL = "https://postroom.example.test"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_url": PUBLIC_URL})


@pytest.fixture
def live_server(runtime: Runtime) -> Iterator[LiveServer]:
    """The service as `postroom serve` runs it: the web UI, the API and the worker."""
    for url in serve(create_app(runtime, with_worker=True)):
        yield LiveServer(url=url, runtime=runtime)
