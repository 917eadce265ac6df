"""The SMS provider the settings choose, and the callback URLs its delivery reports come to."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from postroom.config import Settings
from postroom.notify.sms.base import ProviderName, SmsProvider
from postroom.notify.sms.smsapi import SmsapiConfig, SmsapiProvider
from postroom.notify.sms.twilio import TwilioConfig, TwilioProvider
from postroom.secrets import Secret

CALLBACK_PREFIX = "/api/v1/sms/callbacks"
_SMSAPI_PATH_LABEL = b"postroom sms callback path v1"


def configured_provider(settings: Settings) -> ProviderName | None:
    return None if settings.sms_provider == "none" else ProviderName(settings.sms_provider)


def smsapi_callback_token(settings: Settings) -> str:
    """The secret path segment of SMSAPI's callback URL. SMSAPI signs nothing, so knowing the
    URL is the proof; it is derived from the API token (one-way), so there is no extra
    secret to configure and a leaked URL does not reveal the token."""
    token = settings.smsapi_token.get_secret_value() if settings.smsapi_token else ""
    return hmac.new(token.encode(), _SMSAPI_PATH_LABEL, hashlib.sha256).hexdigest()[:40]


def twilio_callback_base(settings: Settings) -> str:
    return f"{settings.effective_public_url}{CALLBACK_PREFIX}/twilio"


def callback_url(settings: Settings, provider: ProviderName, sms_id: int) -> str:
    """Where the provider reports on SMS `sms_id`; Twilio's carries our id in the query (it
    is signed with the rest), so a report that overtakes the recording of the send still
    finds its message."""
    if provider is ProviderName.SMSAPI:
        token = smsapi_callback_token(settings)
        return f"{settings.effective_public_url}{CALLBACK_PREFIX}/smsapi/{token}"
    return f"{twilio_callback_base(settings)}?ref={sms_id}"


def _provider(settings: Settings, client: httpx.AsyncClient) -> SmsProvider | None:
    name = configured_provider(settings)
    if name is ProviderName.SMSAPI and settings.smsapi_token is not None:
        config = SmsapiConfig(
            token=Secret(settings.smsapi_token.get_secret_value()),
            base_url=settings.smsapi_base_url,
        )
        return SmsapiProvider(config, client)
    if name is ProviderName.TWILIO and settings.twilio_auth_token is not None:
        twilio = TwilioConfig(
            account_sid=settings.twilio_account_sid or "",
            auth_token=Secret(settings.twilio_auth_token.get_secret_value()),
            from_=settings.twilio_from,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            base_url=settings.twilio_base_url,
        )
        return TwilioProvider(twilio, client)
    return None


@asynccontextmanager
async def open_provider(settings: Settings) -> AsyncIterator[SmsProvider | None]:
    """The configured provider over one HTTP client for a batch of sends; None when SMS is
    not configured. The provider's host is the operator's choice, not a user's, so no
    network policy applies (as for the relay)."""
    async with httpx.AsyncClient(
        timeout=settings.sms_timeout_seconds,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "Postroom-SMS"},
    ) as client:
        yield _provider(settings, client)
