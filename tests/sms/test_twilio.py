"""The Twilio adapter against a local server speaking Twilio's Messages API, with signed status
callbacks coming back to Postroom's callback in a real HTTP server."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from postroom.config import Settings
from postroom.db.models_channels import SmsMessage
from postroom.enums import SmsStatus
from postroom.notify.sms.base import CallbackSignatureError
from postroom.notify.sms.twilio import signature, verify_signature
from postroom.secrets import Secret
from postroom.services.runtime import Runtime
from postroom.services.sms_queue import enqueue_sms, send_due
from tests.fixtures.fake_twilio import FakeTwilio, twilio_signature
from tests.sms.conftest import twilio_settings
from tests.sms.support import TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, enable_sms, rows
from tests.support import Tenant


@pytest.fixture
def settings(settings: Settings, twilio_server: FakeTwilio, app_port: int) -> Settings:
    return twilio_settings(settings, twilio_server, app_port)


def _queue(runtime: Runtime, tenant: Tenant, *numbers: str) -> list[int]:
    with runtime.tenant(tenant.company_id) as session:
        return [
            enqueue_sms(
                session,
                runtime=runtime,
                to_number=number,
                body="Faktura 12/2026: termin 30.11",
                client_id=None,
                contact_id=None,
                communication_id=None,
            ).id
            for number in numbers
        ]


def _by_id(runtime: Runtime, tenant: Tenant) -> dict[int, SmsMessage]:
    return {sms.id: sms for sms in rows(runtime, tenant.company_id, SmsMessage)}


def test_send_then_delivered_and_undelivered_30003(
    runtime: Runtime, tenant: Tenant, twilio_server: FakeTwilio, live_url: str
) -> None:
    enable_sms(runtime, tenant)
    twilio_server.undelivered = {"+447700900123": "30003"}
    delivered, undelivered = _queue(runtime, tenant, "600 100 200", "+44 7700 900123")
    assert asyncio.run(send_due(runtime)) == 2
    (first,) = [r for r in twilio_server.requests if r.form["To"] == "+48600100200"]  # sent at once
    assert first.account_sid == TWILIO_ACCOUNT_SID
    assert first.form == {
        "To": "+48600100200",
        "From": "+48732100200",
        "Body": "Faktura 12/2026: termin 30.11",
        "StatusCallback": f"{live_url}/api/v1/sms/callbacks/twilio?ref={delivered}",
    }
    sent = _by_id(runtime, tenant)
    assert all(s.status is SmsStatus.SENT and s.provider_message_id for s in sent.values())
    assert sent[delivered].provider_message_id.startswith("SM")  # type: ignore[union-attr]

    answers = twilio_server.release_callbacks()
    assert [a.status for a in answers] == [204] * 4  # "sent", then the final report, for each
    final = _by_id(runtime, tenant)
    assert final[delivered].status is SmsStatus.DELIVERED
    assert final[undelivered].status is SmsStatus.FAILED
    assert (
        final[undelivered].error
        == "Twilio undelivered error 30003 (Unreachable destination handset)"
    )
    shown = httpx.get(f"{live_url}/api/v1/sms/{undelivered}", headers=tenant.admin.headers).json()
    assert shown["status"] == "failed" and "30003" in shown["error"]


def test_the_office_sender_name_replaces_the_default_from(
    runtime: Runtime, tenant: Tenant, twilio_server: FakeTwilio
) -> None:
    enable_sms(runtime, tenant, sender_name="BiuroAlfa")
    _queue(runtime, tenant, "600100200")
    asyncio.run(send_due(runtime))
    assert twilio_server.requests[0].form["From"] == "BiuroAlfa"


def test_a_badly_signed_callback_is_refused_with_403(
    runtime: Runtime, tenant: Tenant, twilio_server: FakeTwilio, live_url: str
) -> None:
    enable_sms(runtime, tenant)
    (sms_id,) = _queue(runtime, tenant, "600100200")
    asyncio.run(send_due(runtime))
    provider_id = _by_id(runtime, tenant)[sms_id].provider_message_id or ""
    url = f"{live_url}/api/v1/sms/callbacks/twilio?ref={sms_id}"
    params = {"MessageSid": provider_id, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    forged = {
        "wrong token": twilio_signature("guessed-token", url, params),
        "other URL": twilio_signature(TWILIO_AUTH_TOKEN, url.replace("ref=", "ref=9"), params),
        "other params": twilio_signature(
            TWILIO_AUTH_TOKEN, url, params | {"MessageStatus": "sent"}
        ),
    }
    for label, value in forged.items():
        answer = httpx.post(url, data=params, headers={"X-Twilio-Signature": value})
        assert answer.status_code == 403, label
        assert answer.json()["code"] == "bad_signature"
    unsigned = httpx.post(url, data=params)
    assert unsigned.status_code == 403
    assert _by_id(runtime, tenant)[sms_id].status is SmsStatus.SENT
    good = httpx.post(
        url,
        data=params,
        headers={"X-Twilio-Signature": twilio_signature(TWILIO_AUTH_TOKEN, url, params)},
    )
    assert good.status_code == 204
    assert _by_id(runtime, tenant)[sms_id].status is SmsStatus.FAILED


# The test vectors of Twilio's own request validator (twilio-python,
# tests/unit/test_request_validator.py): token 12345, this URL, these parameters.
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
    ("Caller", "+14158675309"),
]


def test_signatures_match_twilios_test_vectors() -> None:
    token = Secret("12345")
    assert signature(token, VECTOR_URL, VECTOR_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert signature(token, VECTOR_URL, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    # The fake server signs with its own code, which must agree.
    assert (
        twilio_signature("12345", VECTOR_URL, dict(VECTOR_PARAMS)) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )


@pytest.mark.parametrize(
    ("url", "presented"),
    [
        (VECTOR_URL, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        (VECTOR_URL.replace(".com", ".com:1234"), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),  # port left out
        (VECTOR_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),  # signed with :443 written in
        (VECTOR_URL.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4="),  # with :80
    ],
)
def test_verification_accepts_the_port_forms_twilio_uses(url: str, presented: str) -> None:
    verify_signature(Secret("12345"), url, VECTOR_PARAMS, presented)


def test_verification_refuses_anything_else() -> None:
    for presented in (None, "", "RSOYDt4T1cUTdK1PDd93/VVr8B8", "kvajT1Ptam85bY51eRf/AJRuM3w"):
        with pytest.raises(CallbackSignatureError):
            verify_signature(Secret("12345"), VECTOR_URL, VECTOR_PARAMS, presented)
    with pytest.raises(CallbackSignatureError):
        verify_signature(Secret("54321"), VECTOR_URL, VECTOR_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [
        (
            (400, {"code": 21211, "message": "The 'To' number is not valid.", "status": 400}),
            SmsStatus.FAILED,
            "Twilio error 21211: The 'To' number is not valid.",
        ),
        (
            (429, {"code": 20429, "message": "Too Many Requests", "status": 429}),
            SmsStatus.QUEUED,
            "Twilio error 20429: Too Many Requests",
        ),
        (
            (500, {"code": 20500, "message": "Internal Server Error", "status": 500}),
            SmsStatus.QUEUED,
            "Twilio error 20500: Internal Server Error",
        ),
    ],
)
def test_errors_are_permanent_or_temporary_as_twilio_means_them(
    runtime: Runtime,
    tenant: Tenant,
    twilio_server: FakeTwilio,
    answer: tuple[int, dict[str, object]],
    status: SmsStatus,
    error: str,
) -> None:
    enable_sms(runtime, tenant)
    (sms_id,) = _queue(runtime, tenant, "600100200")
    twilio_server.scripted = [answer]
    asyncio.run(send_due(runtime))
    sms = _by_id(runtime, tenant)[sms_id]
    assert (sms.status, sms.error) == (status, error)


def test_a_bad_auth_token_is_retried_and_never_shown(
    runtime: Runtime, tenant: Tenant, twilio_server: FakeTwilio
) -> None:
    enable_sms(runtime, tenant)
    (sms_id,) = _queue(runtime, tenant, "600100200")
    twilio_server.auth_token = "rotated-in-the-console"
    asyncio.run(send_due(runtime))
    sms = _by_id(runtime, tenant)[sms_id]
    assert (sms.status, sms.error) == (SmsStatus.QUEUED, "Twilio error 20003: Authenticate")
    assert TWILIO_AUTH_TOKEN not in (sms.error or "")
