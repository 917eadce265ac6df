"""SMS fixtures: the provider fakes, and settings that point the adapters at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from postroom.config import Settings
from postroom.services.runtime import Runtime
from tests.fixtures.fake_smsapi import FakeSmsapi, fake_smsapi
from tests.fixtures.fake_twilio import FakeTwilio, fake_twilio
from tests.sms.support import (
    SMSAPI_TOKEN,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    free_port,
    live_app,
)


@pytest.fixture
def smsapi_server() -> Iterator[FakeSmsapi]:
    with fake_smsapi(SMSAPI_TOKEN) as server:
        yield server


@pytest.fixture
def twilio_server() -> Iterator[FakeTwilio]:
    with fake_twilio(TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN) as server:
        yield server


@pytest.fixture
def app_port() -> int:
    return free_port()


def smsapi_settings(settings: Settings, server: FakeSmsapi, port: int) -> Settings:
    return settings.model_copy(
        update={
            "sms_provider": "smsapi",
            "smsapi_token": SecretStr(SMSAPI_TOKEN),
            "smsapi_base_url": server.url,
            "public_url": f"http://127.0.0.1:{port}",
            "sms_retry_deadline_hours": 1.0,
        }
    )


def twilio_settings(settings: Settings, server: FakeTwilio, port: int) -> Settings:
    return settings.model_copy(
        update={
            "sms_provider": "twilio",
            "twilio_account_sid": TWILIO_ACCOUNT_SID,
            "twilio_auth_token": SecretStr(TWILIO_AUTH_TOKEN),
            "twilio_from": "+48732100200",
            "twilio_base_url": server.url,
            "public_url": f"http://127.0.0.1:{port}",
            "sms_retry_deadline_hours": 1.0,
        }
    )


@pytest.fixture
def live_url(runtime: Runtime, app_port: int) -> Iterator[str]:
    with live_app(runtime, app_port) as url:
        yield url
