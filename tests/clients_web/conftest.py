"""Fixtures of the client pages' tests: SMS through the local SMSAPI fake (the office may turn
SMS on), the web UI's browser fixtures, and the service with its worker for the browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from postroom.app import create_app
from postroom.config import Settings
from postroom.services.runtime import Runtime
from tests.fixtures.fake_smsapi import FakeSmsapi, fake_smsapi
from tests.sms.conftest import smsapi_settings
from tests.sms.support import SMSAPI_TOKEN, free_port
from tests.web.conftest import LiveServer, browser, login, page, serve  # noqa: F401


@pytest.fixture
def smsapi_server() -> Iterator[FakeSmsapi]:
    with fake_smsapi(SMSAPI_TOKEN) as server:
        yield server


@pytest.fixture
def settings(settings: Settings, smsapi_server: FakeSmsapi) -> Settings:
    return smsapi_settings(settings, smsapi_server, free_port())


@pytest.fixture
def live_server(runtime: Runtime) -> Iterator[LiveServer]:
    """The service as `postroom serve` runs it: the web UI, the API and the worker."""
    for url in serve(create_app(runtime, with_worker=True)):
        yield LiveServer(url=url, runtime=runtime)
