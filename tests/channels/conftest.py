"""Channel test fixtures: SMS through the local SMSAPI fake (its delivery reports call back
the app on `app_port`), and a notification stream that polls and beats quickly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from postroom.config import Settings
from tests.fixtures.fake_smsapi import FakeSmsapi, fake_smsapi
from tests.sms.conftest import smsapi_settings
from tests.sms.support import SMSAPI_TOKEN, free_port


@pytest.fixture
def smsapi_server() -> Iterator[FakeSmsapi]:
    with fake_smsapi(SMSAPI_TOKEN) as server:
        yield server


@pytest.fixture
def app_port() -> int:
    return free_port()


@pytest.fixture
def settings(settings: Settings, smsapi_server: FakeSmsapi, app_port: int) -> Settings:
    configured = smsapi_settings(settings, smsapi_server, app_port)
    return configured.model_copy(
        update={
            "notification_stream_poll_seconds": 0.05,
            "notification_stream_heartbeat_seconds": 0.3,
        }
    )


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The API client (named so that "client" stays the office's client company here)."""
    return client
