"""Twilio Programmable Messaging (https://www.twilio.com/docs/messaging/api/message-resource).

Sending: POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP basic auth with
AccountSid:AuthToken, form fields To, From (a number or an alphanumeric sender ID) and/or
MessagingServiceSid, Body, StatusCallback. 201 with the Message resource (`sid`, `status`)
on success; otherwise `{"code", "message", "more_info", "status"}`.

Status callbacks: a form POST to StatusCallback with MessageSid, MessageStatus (queued, sent,
delivered, undelivered, failed…) and ErrorCode, signed in X-Twilio-Signature:
base64(HMAC-SHA1(auth token, the full URL + each POST parameter name and value, sorted by
name)) ("Webhooks security"). An unsigned or wrongly signed report is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from postroom.notify.sms.base import (
    CallbackError,
    CallbackSignatureError,
    DeliveryReport,
    DeliveryState,
    OutgoingSms,
    ProviderName,
    SendResult,
    SmsPermanentError,
    SmsTemporaryError,
)
from postroom.secrets import Secret

DEFAULT_BASE_URL = "https://api.twilio.com"
_ERROR_CHARS = 300

# Temporary: rate limits (20429), Twilio's own trouble (5xx), and authentication (20003) or
# an inactive account (10001), which the operator can fix before the retry deadline.
TEMPORARY_ERRORS = frozenset({10001, 20003, 20429, 30001})

_STATES = {
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.DELIVERED,
    "undelivered": DeliveryState.FAILED,
    "failed": DeliveryState.FAILED,
    "canceled": DeliveryState.FAILED,
}
# The delivery errors seen most often (Twilio's error dictionary, 30xxx).
_DELIVERY_ERRORS = {
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered by the carrier",
    "30008": "Unknown error",
}


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: Secret
    from_: str | None = None  # a number in E.164 or an alphanumeric sender ID
    messaging_service_sid: str | None = None
    base_url: str = DEFAULT_BASE_URL


class TwilioProvider:
    """Twilio's Messages API over an httpx client the caller owns (and closes)."""

    name = ProviderName.TWILIO

    def __init__(self, config: TwilioConfig, client: httpx.AsyncClient) -> None:
        self._config = config
        self._client = client

    def _form(self, sms: OutgoingSms) -> dict[str, str]:
        form = {"To": sms.to, "Body": sms.body}
        sender = sms.sender_name or self._config.from_
        if sender:
            form["From"] = sender
        if self._config.messaging_service_sid:
            form["MessagingServiceSid"] = self._config.messaging_service_sid
        if sms.callback_url:
            form["StatusCallback"] = sms.callback_url
        return form

    async def send(self, sms: OutgoingSms) -> SendResult:
        config = self._config
        url = (
            f"{config.base_url.rstrip('/')}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        )
        auth = httpx.BasicAuth(config.account_sid, config.auth_token.reveal())
        try:
            response = await self._client.post(url, data=self._form(sms), auth=auth)
        except httpx.HTTPError as exc:
            raise SmsTemporaryError(f"Twilio could not be reached: {type(exc).__name__}") from exc
        return _result(response)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        document = None
    return document if isinstance(document, dict) else {}


def _result(response: httpx.Response) -> SendResult:
    document = _json(response)
    if response.status_code in (200, 201) and document.get("sid"):
        return SendResult(
            provider_message_id=str(document["sid"]), status=str(document.get("status", ""))
        )
    code = document.get("code")
    text = str(document.get("message") or " ".join(response.text.split()))[:_ERROR_CHARS]
    message = (
        f"Twilio error {code}: {text}" if code else f"Twilio HTTP {response.status_code}: {text}"
    )
    temporary = (
        response.status_code == 429
        or response.status_code >= 500
        or (isinstance(code, int) and code in TEMPORARY_ERRORS)
    )
    raise SmsTemporaryError(message) if temporary else SmsPermanentError(message)


def _signed_text(url: str, params: Sequence[tuple[str, str]]) -> str:
    # Parameters sorted by name, and a repeated name's values sorted too (what Twilio's own
    # validators do), each appended as name + value with no separator.
    text = url
    for name in sorted({name for name, _ in params}):
        for value in sorted(value for key, value in params if key == name):
            text += name + value
    return text


def signature(auth_token: Secret, url: str, params: Sequence[tuple[str, str]]) -> str:
    digest = hmac.new(
        auth_token.reveal().encode(), _signed_text(url, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """The URL as given, and with its port left out or the scheme's default port written in:
    proxies and Twilio disagree about ports, so its own validators accept each form."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is None:
        default = 443 if parts.scheme == "https" else 80
        other = urlunsplit((parts.scheme, f"{host}:{default}", parts.path, parts.query, ""))
    else:
        other = urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
    return [url, other]


def verify_signature(
    auth_token: Secret, url: str, params: Sequence[tuple[str, str]], presented: str | None
) -> None:
    """Raises CallbackSignatureError unless `presented` is Twilio's signature of this request."""
    if not presented:
        raise CallbackSignatureError("The report carries no X-Twilio-Signature.")
    for candidate in _url_variants(url):
        if hmac.compare_digest(
            signature(auth_token, candidate, params).encode(), presented.encode()
        ):
            return
    raise CallbackSignatureError("The X-Twilio-Signature does not match this request.")


def parse_callback(params: Mapping[str, str]) -> DeliveryReport:
    message_id = params.get("MessageSid") or params.get("SmsSid") or ""
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not message_id or not status:
        raise CallbackError("A Twilio status callback needs MessageSid and MessageStatus.")
    state = _STATES.get(status, DeliveryState.PENDING)
    error = None
    if state is DeliveryState.FAILED:
        code = params.get("ErrorCode") or ""
        reason = _DELIVERY_ERRORS.get(code, "")
        error = " ".join(
            part
            for part in (f"Twilio {status}", code and f"error {code}", reason and f"({reason})")
            if part
        )
    return DeliveryReport(message_id, state, error)
