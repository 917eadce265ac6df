"""Delivery reports: check that a callback comes from the provider, then settle its SMS.

A report finds its SMS by provider and the provider's message id, or, when it overtook the
recording of the send, by our own id echoed in it (SMSAPI's `idx`, the `ref` of Twilio's
signed callback URL). A settled SMS (delivered or failed) never changes again: providers
repeat reports and deliver them out of order. Each change refreshes the client
communication the SMS carries (services/communications.py).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.base import utcnow
from postroom.db.models_channels import SmsMessage
from postroom.enums import SmsStatus
from postroom.errors import NotFoundError
from postroom.notify.sms import smsapi, twilio
from postroom.notify.sms.base import DeliveryReport, DeliveryState, ProviderName
from postroom.secrets import Secret
from postroom.services import communications
from postroom.services.runtime import Runtime
from postroom.services.sms_providers import smsapi_callback_token, twilio_callback_base

log = logging.getLogger("postroom.sms")
SETTLED = frozenset({SmsStatus.DELIVERED, SmsStatus.FAILED})
_NEW_STATUS = {
    DeliveryState.SENT: SmsStatus.SENT,
    DeliveryState.DELIVERED: SmsStatus.DELIVERED,
    DeliveryState.FAILED: SmsStatus.FAILED,
}


@dataclass(frozen=True)
class Applied:
    sms_id: int
    company_id: int
    communication_id: int | None


def check_smsapi_path(settings: Settings, presented: str) -> None:
    """The secret path segment of SMSAPI's callback; a wrong one is told apart from nothing."""
    if settings.sms_provider != ProviderName.SMSAPI.value or not hmac.compare_digest(
        presented.encode(), smsapi_callback_token(settings).encode()
    ):
        raise NotFoundError("There is no such callback.")


def check_twilio_signature(
    settings: Settings, query: str, params: Sequence[tuple[str, str]], presented: str | None
) -> None:
    """Raises CallbackSignatureError unless Twilio signed this request with the auth token."""
    if settings.sms_provider != ProviderName.TWILIO.value or settings.twilio_auth_token is None:
        raise NotFoundError("There is no such callback.")
    url = twilio_callback_base(settings) + (f"?{query}" if query else "")
    token = Secret(settings.twilio_auth_token.get_secret_value())
    twilio.verify_signature(token, url, params, presented)


def parse_smsapi(params: dict[str, str]) -> list[DeliveryReport]:
    return smsapi.parse_callback(params)


def parse_twilio(params: dict[str, str], reference: str | None) -> DeliveryReport:
    report = twilio.parse_callback(params)
    return DeliveryReport(report.provider_message_id, report.state, report.error, reference)


def _find(session: Session, provider: ProviderName, report: DeliveryReport) -> SmsMessage | None:
    sms = session.scalars(
        select(SmsMessage).where(
            SmsMessage.provider == provider.value,
            SmsMessage.provider_message_id == report.provider_message_id,
        )
    ).first()
    if sms is not None or not (report.reference or "").isdigit():
        return sms
    sms = session.get(SmsMessage, int(report.reference or "0"))
    if sms is None or sms.provider != provider.value:
        return None
    if sms.provider_message_id not in (None, report.provider_message_id):
        return None  # our id, but another message of the provider: not this one
    return sms


def _apply(sms: SmsMessage, report: DeliveryReport) -> bool:
    """Change `sms` as the report says; whether its status changed."""
    if sms.provider_message_id is None:
        sms.provider_message_id = report.provider_message_id
    new = _NEW_STATUS.get(report.state)
    if new is None or sms.status in SETTLED or sms.status is new:
        return False
    sms.status = new
    sms.status_at = utcnow()
    sms.lease_until = None
    if new is SmsStatus.FAILED:
        sms.error = report.error or "The provider reported the SMS as not delivered."
    elif new is SmsStatus.DELIVERED:
        sms.error = None
    return True


def apply_reports(
    runtime: Runtime, provider: ProviderName, reports: Iterable[DeliveryReport]
) -> int:
    """Apply reports across companies (the provider knows no tenants); how many changed an
    SMS. Unknown message ids are logged and ignored: answering an error would only make the
    provider repeat a report we can never place."""
    changed: list[Applied] = []
    with runtime.platform() as session:
        for report in reports:
            sms = _find(session, provider, report)
            if sms is None:
                log.info(
                    "sms report for an unknown message",
                    extra={
                        "provider": provider.value,
                        "provider_message_id": report.provider_message_id,
                    },
                )
                continue
            if _apply(sms, report):
                changed.append(Applied(sms.id, sms.company_id, sms.communication_id))
                log.info(
                    "sms status",
                    extra={"sms_id": sms.id, "status": sms.status.value, "error": sms.error},
                )
    refresh_communications(runtime, [(a.company_id, a.communication_id) for a in changed])
    return len(changed)


def refresh_communications(runtime: Runtime, rows: Iterable[tuple[int, int | None]]) -> None:
    """Let each communication re-derive its status from its SMS, in its company's session."""
    wanted = {(company_id, comm_id) for company_id, comm_id in rows if comm_id is not None}
    for company_id, comm_id in sorted(wanted):
        with runtime.tenant(company_id) as session:
            communications.refresh_status(session, comm_id)
