"""SMSAPI.pl (https://www.smsapi.pl/docs): POST /sms.do with an OAuth bearer token.

Sending: form fields `to` (digits, no "+"), `message`, `from` (a registered sender name),
`encoding=utf-8`, `format=json`, `notify_url`, `idx` (our id, echoed by the report) and
`max_parts`. The answer is JSON, `{"count": n, "list": [{"id", "points", "status"}]}` on
success or `{"error": code, "message": text}` on failure; SMSAPI may say the latter with an
HTTP 200, so the body decides, not the status.

Delivery reports ("Raporty Callback"): SMSAPI requests `notify_url` by GET (or POST) with
`MsgId`, `status` (a number, list "Lista statusów doręczenia"), `status_name`, `idx`,
`donedate`, `to`…, several reports in one call as comma-separated lists, and wants "OK"
back. The URL carries no signature, so ours holds a secret path segment
(services/sms_callbacks.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from postroom.notify.sms.base import (
    CallbackError,
    DeliveryReport,
    DeliveryState,
    OutgoingSms,
    ProviderName,
    SendResult,
    SmsPermanentError,
    SmsTemporaryError,
)
from postroom.secrets import Secret

DEFAULT_BASE_URL = "https://api.smsapi.pl"
MAX_PARTS = 10  # SMSAPI's own ceiling for `max_parts`
CALLBACK_ANSWER = "OK"
_ERROR_CHARS = 300

# Error codes worth retrying: SMSAPI's internal error and its rate limits, the points running
# out (topping up fixes it), and a token or IP filter the operator can correct. Every other
# code (bad number 13, bad sender name 14, message too long 11/12…) fails the message itself.
TEMPORARY_ERRORS = frozenset({101, 102, 103, 105, 201, 202, 203})

# "Lista statusów doręczenia": the reports that settle a message.
_STATES = {
    402: DeliveryState.FAILED,  # EXPIRED: the operator gave up
    403: DeliveryState.SENT,  # SENT: handed to the operator
    404: DeliveryState.DELIVERED,  # DELIVERED
    405: DeliveryState.FAILED,  # UNDELIVERED
    406: DeliveryState.FAILED,  # FAILED
    407: DeliveryState.FAILED,  # REJECTED
    412: DeliveryState.FAILED,  # STOP: the number is blocked
}
_STATUS_NAMES = {
    401: "NOT_FOUND",
    402: "EXPIRED",
    403: "SENT",
    404: "DELIVERED",
    405: "UNDELIVERED",
    406: "FAILED",
    407: "REJECTED",
    408: "UNKNOWN",
    409: "QUEUE",
    410: "ACCEPTED",
    411: "RENEWAL",
    412: "STOP",
}


@dataclass(frozen=True)
class SmsapiConfig:
    token: Secret
    base_url: str = DEFAULT_BASE_URL


class SmsapiProvider:
    """SMSAPI.pl's REST API over an httpx client the caller owns (and closes)."""

    name = ProviderName.SMSAPI

    def __init__(self, config: SmsapiConfig, client: httpx.AsyncClient) -> None:
        self._config = config
        self._client = client

    async def send(self, sms: OutgoingSms) -> SendResult:
        form = {
            "to": sms.to.removeprefix("+"),
            "message": sms.body,
            "encoding": "utf-8",
            "format": "json",
            "idx": sms.reference,
            "max_parts": str(MAX_PARTS),
        }
        if sms.sender_name:
            form["from"] = sms.sender_name
        if sms.callback_url:
            form["notify_url"] = sms.callback_url
        url = self._config.base_url.rstrip("/") + "/sms.do"
        headers = {"Authorization": f"Bearer {self._config.token.reveal()}"}
        try:
            response = await self._client.post(url, data=form, headers=headers)
        except httpx.HTTPError as exc:
            # The exception text names the URL only; the token travels in a header.
            raise SmsTemporaryError(f"SMSAPI could not be reached: {type(exc).__name__}") from exc
        return _result(response)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        excerpt = " ".join(response.text.split())[:_ERROR_CHARS]
        error = SmsTemporaryError if response.status_code >= 500 else SmsPermanentError
        raise error(f"SMSAPI answered HTTP {response.status_code} without JSON: {excerpt}")
    return document


def _result(response: httpx.Response) -> SendResult:
    if response.status_code == 429 or response.status_code >= 500:
        raise SmsTemporaryError(f"SMSAPI is unavailable (HTTP {response.status_code}).")
    document = _json(response)
    if "error" in document:
        code = _int(document.get("error"))
        text = str(document.get("message") or "no message")[:_ERROR_CHARS]
        message = f"SMSAPI error {code}: {text}"
        raise SmsTemporaryError(message) if code in TEMPORARY_ERRORS else SmsPermanentError(message)
    entries = document.get("list")
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        raise SmsPermanentError("SMSAPI accepted the request but listed no message.")
    first = entries[0]
    if not first.get("id"):
        raise SmsPermanentError("SMSAPI listed the message without an id.")
    return SendResult(provider_message_id=str(first["id"]), status=str(first.get("status", "")))


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _split(params: Mapping[str, str], name: str) -> list[str]:
    value = params.get(name, "")
    return [part.strip() for part in value.split(",")] if value else []


def parse_callback(params: Mapping[str, str]) -> list[DeliveryReport]:
    """The reports in one callback request (query string or form), in order."""
    ids = _split(params, "MsgId")
    statuses = _split(params, "status")
    if not ids or len(statuses) != len(ids):
        raise CallbackError("An SMSAPI report needs MsgId and status, one status per MsgId.")
    names = _split(params, "status_name")
    references = _split(params, "idx")
    reports = []
    for index, (message_id, raw_status) in enumerate(zip(ids, statuses, strict=True)):
        code = _int(raw_status)
        if not message_id or code is None:
            raise CallbackError(
                "An SMSAPI report has an empty MsgId or a status that is no number."
            )
        state = _STATES.get(code, DeliveryState.PENDING)
        name = names[index] if index < len(names) and names[index] else _STATUS_NAMES.get(code, "")
        error = f"SMSAPI status {code} {name}".strip() if state is DeliveryState.FAILED else None
        reference = references[index] if index < len(references) else None
        reports.append(DeliveryReport(message_id, state, error, reference or None))
    return reports
