"""What every SMS provider adapter offers: send one SMS, read its delivery reports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from postroom.errors import PermissionDeniedError, PostroomError, ValidationError


class ProviderName(StrEnum):
    SMSAPI = "smsapi"
    TWILIO = "twilio"


@dataclass(frozen=True)
class OutgoingSms:
    """One SMS as the adapter sends it. `reference` is our id, echoed by the provider's
    delivery report where the provider allows it (so a report that overtakes the recording of
    the send still finds its message)."""

    to: str  # E.164
    body: str
    sender_name: str | None
    callback_url: str | None
    reference: str


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the SMS: its id (matched by delivery reports) and what it said."""

    provider_message_id: str
    status: str  # the provider's own word: "QUEUE", "queued", "accepted"…


class DeliveryState(StrEnum):
    PENDING = "pending"  # still on its way (queued at the operator, accepted…): nothing to record
    SENT = "sent"  # handed to the operator
    DELIVERED = "delivered"  # the phone got it
    FAILED = "failed"  # it will not arrive (undelivered, rejected, expired…)


@dataclass(frozen=True)
class DeliveryReport:
    provider_message_id: str
    state: DeliveryState
    error: str | None = None  # the provider's reason, in its words, when FAILED
    reference: str | None = None  # our id, when the provider echoes it


class SmsProviderError(PostroomError):
    """The provider did not take the SMS. `permanent`: sending it again cannot work (a bad
    number, a refused sender name); otherwise it may be retried (network, overload, a
    configuration the operator can fix)."""

    code = "sms_provider_error"
    permanent = False


class SmsTemporaryError(SmsProviderError, ConnectionError):
    code = "sms_provider_unavailable"


class SmsPermanentError(SmsProviderError):
    code = "sms_refused"
    permanent = True


class CallbackError(ValidationError):
    """A delivery report without the fields every report has."""

    code = "bad_sms_callback"


class CallbackSignatureError(PermissionDeniedError):
    """A delivery report the provider did not sign (or someone else signed)."""

    code = "bad_signature"


class SmsProvider(Protocol):
    """One provider's HTTP API. Raises SmsTemporaryError / SmsPermanentError, never httpx's
    errors, and never puts a credential in an error text."""

    name: ProviderName

    async def send(self, sms: OutgoingSms) -> SendResult: ...
