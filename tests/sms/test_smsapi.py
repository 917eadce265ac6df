"""The SMSAPI adapter against a local server speaking SMSAPI's protocol, with its delivery
reports coming back to Postroom's callback in a real HTTP server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from postroom.config import Settings
from postroom.db.base import utcnow
from postroom.db.models_channels import SmsMessage
from postroom.enums import SmsStatus
from postroom.services.runtime import Runtime
from postroom.services.sms_providers import smsapi_callback_token
from postroom.services.sms_queue import enqueue_sms, send_due
from tests.fixtures.fake_smsapi import FakeSmsapi
from tests.sms.conftest import smsapi_settings
from tests.sms.support import SMS_SECRETS, SMSAPI_TOKEN, enable_sms, rows
from tests.support import Tenant


@pytest.fixture
def settings(settings: Settings, smsapi_server: FakeSmsapi, app_port: int) -> Settings:
    return smsapi_settings(settings, smsapi_server, app_port)


def _queue(
    runtime: Runtime, tenant: Tenant, *numbers: str, body: str = "Termin VAT: 25.11"
) -> list[int]:
    ids = []
    with runtime.tenant(tenant.company_id) as session:
        for number in numbers:
            sms = enqueue_sms(
                session,
                runtime=runtime,
                to_number=number,
                body=body,
                client_id=None,
                contact_id=None,
                communication_id=None,
            )
            ids.append(sms.id)
    return ids


def _by_id(runtime: Runtime, tenant: Tenant) -> dict[int, SmsMessage]:
    return {sms.id: sms for sms in rows(runtime, tenant.company_id, SmsMessage)}


def _make_due(runtime: Runtime, **changes: object) -> None:
    with runtime.platform() as session:
        session.execute(update(SmsMessage).values(next_attempt_at=utcnow(), **changes))


def test_send_then_delivered_undelivered_and_failed_reports(
    runtime: Runtime, tenant: Tenant, smsapi_server: FakeSmsapi, live_url: str
) -> None:
    enable_sms(runtime, tenant, sender_name="BiuroAlfa")
    smsapi_server.outcomes = {"48600100201": 405, "48600100202": 406}
    delivered, undelivered, failed = _queue(
        runtime, tenant, "600 100 200", "+48 600 100 201", "0048600100202", body="Zażółć: VAT 25.11"
    )
    assert asyncio.run(send_due(runtime)) == 3
    (first,) = [r for r in smsapi_server.requests if r.form["to"] == "48600100200"]  # sent at once
    assert first.authorization == f"Bearer {SMSAPI_TOKEN}"
    token = smsapi_callback_token(runtime.settings)
    assert first.form == {
        "to": "48600100200",
        "message": "Zażółć: VAT 25.11",
        "from": "BiuroAlfa",
        "encoding": "utf-8",
        "format": "json",
        "idx": str(delivered),
        "max_parts": "10",
        "notify_url": f"{live_url}/api/v1/sms/callbacks/smsapi/{token}",
    }
    sent = _by_id(runtime, tenant)
    assert {sms.status for sms in sent.values()} == {SmsStatus.SENT}
    assert all(
        sms.provider_message_id and sms.sent_at and sms.attempts == 1 for sms in sent.values()
    )

    answers = smsapi_server.release_reports()
    assert [(a.status, a.body) for a in answers] == [(200, "OK")] * 3
    final = _by_id(runtime, tenant)
    assert final[delivered].status is SmsStatus.DELIVERED and final[delivered].error is None
    assert final[undelivered].status is SmsStatus.FAILED
    assert final[undelivered].error == "SMSAPI status 405 UNDELIVERED"
    assert (
        final[failed].status is SmsStatus.FAILED
        and final[failed].error == "SMSAPI status 406 FAILED"
    )
    shown = httpx.get(f"{live_url}/api/v1/sms/{undelivered}", headers=tenant.admin.headers).json()
    assert shown["status"] == "failed" and shown["error"] == "SMSAPI status 405 UNDELIVERED"
    assert (shown["encoding"], shown["segments"]) == ("ucs2", 1)


def test_a_late_or_repeated_report_does_not_undo_a_settled_sms(
    runtime: Runtime, tenant: Tenant, smsapi_server: FakeSmsapi, live_url: str
) -> None:
    enable_sms(runtime, tenant)
    smsapi_server.outcomes = {"48600100201": 405}
    (sms_id,) = _queue(runtime, tenant, "600100201")
    asyncio.run(send_due(runtime))
    smsapi_server.release_reports()
    provider_id = _by_id(runtime, tenant)[sms_id].provider_message_id
    url = f"{live_url}/api/v1/sms/callbacks/smsapi/{smsapi_callback_token(runtime.settings)}"
    for status in ("404", "403"):  # POST works as GET does
        answer = httpx.post(url, data={"MsgId": provider_id or "", "status": status})
        assert (answer.status_code, answer.text) == (200, "OK")
    assert _by_id(runtime, tenant)[sms_id].status is SmsStatus.FAILED


def test_several_reports_in_one_callback(
    runtime: Runtime, tenant: Tenant, smsapi_server: FakeSmsapi, live_url: str
) -> None:
    enable_sms(runtime, tenant)
    first, second = _queue(runtime, tenant, "600100200", "600100201")
    asyncio.run(send_due(runtime))
    sms = _by_id(runtime, tenant)
    ids = f"{sms[first].provider_message_id},{sms[second].provider_message_id}"
    url = f"{live_url}/api/v1/sms/callbacks/smsapi/{smsapi_callback_token(runtime.settings)}"
    answer = httpx.get(
        url, params={"MsgId": ids, "status": "404,407", "status_name": "DELIVERED,REJECTED"}
    )
    assert answer.text == "OK"
    sms = _by_id(runtime, tenant)
    assert sms[first].status is SmsStatus.DELIVERED
    assert (sms[second].status, sms[second].error) == (
        SmsStatus.FAILED,
        "SMSAPI status 407 REJECTED",
    )


def test_callbacks_need_the_secret_path_and_their_fields(
    runtime: Runtime, tenant: Tenant, smsapi_server: FakeSmsapi, live_url: str
) -> None:
    enable_sms(runtime, tenant)
    (sms_id,) = _queue(runtime, tenant, "600100200")
    asyncio.run(send_due(runtime))
    provider_id = _by_id(runtime, tenant)[sms_id].provider_message_id or ""
    wrong = httpx.get(
        f"{live_url}/api/v1/sms/callbacks/smsapi/{'0' * 40}",
        params={"MsgId": provider_id, "status": "405"},
    )
    assert wrong.status_code == 404
    good = f"{live_url}/api/v1/sms/callbacks/smsapi/{smsapi_callback_token(runtime.settings)}"
    missing = httpx.get(good, params={"MsgId": provider_id})
    assert missing.status_code == 422 and missing.json()["code"] == "bad_sms_callback"
    unknown = httpx.get(good, params={"MsgId": "NOSUCHID", "status": "404"})
    assert (unknown.status_code, unknown.text) == (200, "OK")  # else SMSAPI repeats it forever
    huge = httpx.post(good, data={"MsgId": provider_id, "status": "405", "pad": "x" * 70_000})
    assert huge.status_code == 422 and huge.json()["code"] == "bad_sms_callback"
    assert _by_id(runtime, tenant)[sms_id].status is SmsStatus.SENT


def test_temporary_errors_are_retried_then_sent(
    runtime: Runtime, tenant: Tenant, smsapi_server: FakeSmsapi
) -> None:
    enable_sms(runtime, tenant)
    (sms_id,) = _queue(runtime, tenant, "600100200")
    smsapi_server.scripted = [
        (503, {"error": 503, "message": "Service Unavailable"}),
        (200, {"error": 201, "message": "System internal error"}),
    ]
    asyncio.run(send_due(runtime))
    sms = _by_id(runtime, tenant)[sms_id]
    assert sms.status is SmsStatus.QUEUED and sms.error == "SMSAPI is unavailable (HTTP 503)."
    assert sms.next_attempt_at > utcnow() and sms.attempts == 1
    assert asyncio.run(send_due(runtime)) == 0  # not due yet
    _make_due(runtime)
    asyncio.run(send_due(runtime))
    sms = _by_id(runtime, tenant)[sms_id]
    assert (sms.status, sms.error, sms.attempts) == (
        SmsStatus.QUEUED,
        "SMSAPI error 201: System internal error",
        2,
    )
    _make_due(runtime)
    asyncio.run(send_due(runtime))
    sms = _by_id(runtime, tenant)[sms_id]
    assert (sms.status, sms.error, sms.attempts) == (SmsStatus.SENT, None, 3)
    assert len(smsapi_server.requests) == 3


def test_a_permanent_refusal_fails_at_once_with_the_providers_words(
    runtime: Runtime, tenant: Tenant, smsapi_server: FakeSmsapi
) -> None:
    enable_sms(runtime, tenant, sender_name="Nieznany")  # not registered with SMSAPI
    (sms_id,) = _queue(runtime, tenant, "600100200")
    asyncio.run(send_due(runtime))
    sms = _by_id(runtime, tenant)[sms_id]
    assert (sms.status, sms.error) == (SmsStatus.FAILED, "SMSAPI error 14: Invalid sender field")
    _make_due(runtime)
    assert asyncio.run(send_due(runtime)) == 0
    assert len(smsapi_server.requests) == 1


def test_a_wrong_token_is_retried_until_the_deadline(
    runtime: Runtime, tenant: Tenant, smsapi_server: FakeSmsapi
) -> None:
    enable_sms(runtime, tenant)
    (sms_id,) = _queue(runtime, tenant, "600100200")
    smsapi_server.token = "rotated-in-the-panel"
    asyncio.run(send_due(runtime))
    assert _by_id(runtime, tenant)[sms_id].status is SmsStatus.QUEUED
    _make_due(runtime, created_at=utcnow() - timedelta(hours=2))  # past the 1-hour deadline
    asyncio.run(send_due(runtime))
    sms = _by_id(runtime, tenant)[sms_id]
    assert sms.status is SmsStatus.FAILED
    assert sms.error == "SMSAPI error 101: Authorization failed (gave up after 2 attempts)"


def test_an_unreachable_provider_is_a_temporary_failure(
    runtime: Runtime, tenant: Tenant, settings: Settings, app_port: int
) -> None:
    enable_sms(runtime, tenant)
    (sms_id,) = _queue(runtime, tenant, "600100200")
    runtime.settings = settings.model_copy(
        update={"smsapi_base_url": f"http://127.0.0.1:{app_port}"}
    )
    asyncio.run(send_due(runtime))  # nothing listens on the app port in this test
    sms = _by_id(runtime, tenant)[sms_id]
    assert (
        sms.status is SmsStatus.QUEUED and sms.error == "SMSAPI could not be reached: ConnectError"
    )


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog


def test_tokens_never_reach_responses_logs_or_the_database(
    runtime: Runtime,
    tenant: Tenant,
    smsapi_server: FakeSmsapi,
    live_url: str,
    captured: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    enable_sms(runtime, tenant)
    smsapi_server.outcomes = {"48600100201": 405}
    ids = _queue(runtime, tenant, "600100200", "600100201")
    smsapi_server.scripted = [(401, {"error": 101, "message": "Authorization failed"})]
    asyncio.run(send_due(runtime))
    _make_due(runtime)
    asyncio.run(send_due(runtime))
    smsapi_server.release_reports()
    texts = [captured.text]
    for path in ("/api/v1/office/sms", *(f"/api/v1/sms/{i}" for i in ids)):
        texts.append(httpx.get(f"{live_url}{path}", headers=tenant.admin.headers).text)
    texts += [sms.error or "" for sms in rows(runtime, tenant.company_id, SmsMessage)]
    database = tmp_path / "postroom.db"
    if database.exists():
        texts.append(database.read_bytes().decode("latin-1"))
    for secret in SMS_SECRETS:
        assert all(secret not in text for text in texts)
