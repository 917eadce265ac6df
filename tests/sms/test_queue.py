"""The SMS queue: leases between workers, a report that overtakes the recording of its send,
and the client communication each SMS carries kept up to date."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from postroom.config import Settings
from postroom.db.base import utcnow
from postroom.db.models_channels import ClientCommunication, SmsMessage
from postroom.db.models_crm import Client
from postroom.db.tenancy import platform_session
from postroom.enums import Channel, CommunicationStatus, SmsStatus
from postroom.notify.sms.base import DeliveryReport, DeliveryState, ProviderName, SendResult
from postroom.services.runtime import Runtime
from postroom.services.sms_callbacks import apply_reports
from postroom.services.sms_queue import SendOutcome, claim_due, enqueue_sms, record, send_due
from tests.fixtures.fake_smsapi import FakeSmsapi
from tests.sms.conftest import smsapi_settings
from tests.sms.support import enable_sms, rows
from tests.support import Tenant

LEASE = 60.0
DEADLINE = timedelta(hours=1)


@pytest.fixture
def settings(settings: Settings, smsapi_server: FakeSmsapi, app_port: int) -> Settings:
    return smsapi_settings(settings, smsapi_server, app_port)


def _queue(
    runtime: Runtime, tenant: Tenant, count: int = 1, communication_id: int | None = None
) -> list[int]:
    with runtime.tenant(tenant.company_id) as session:
        return [
            enqueue_sms(
                session,
                runtime=runtime,
                to_number=f"60010020{i}",
                body="Termin ZUS: 20.11",
                client_id=None,
                contact_id=None,
                communication_id=communication_id,
            ).id
            for i in range(count)
        ]


def test_a_leased_sms_is_not_claimed_again_until_its_lease_ends(
    runtime: Runtime, tenant: Tenant
) -> None:
    enable_sms(runtime, tenant)
    _queue(runtime, tenant, 3)
    now = utcnow()
    with runtime.platform() as session:
        first = claim_due(session, now=now, lease_seconds=LEASE)
    with runtime.platform() as session:
        assert claim_due(session, now=now, lease_seconds=LEASE) == []
    assert len(first) == 3 and all(sms.attempts == 1 for sms in first)
    later = now + timedelta(seconds=LEASE + 1)  # the first worker died
    with runtime.platform() as session:
        taken_over = claim_due(session, now=later, lease_seconds=LEASE)
    assert sorted(s.id for s in taken_over) == sorted(s.id for s in first)
    assert all(sms.attempts == 2 for sms in taken_over)
    # The dead worker's late answer is not recorded over the new claim.
    with runtime.platform() as session:
        stale = [SendOutcome(sms, result=SendResult("LATE", "QUEUE")) for sms in first]
        record(session, stale, now=later, deadline=DEADLINE)
    assert {s.status for s in rows(runtime, tenant.company_id, SmsMessage)} == {SmsStatus.SENDING}


def test_concurrent_workers_claim_disjoint_rows(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    if not settings.effective_database_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED needs PostgreSQL; SQLite serialises writers")
    enable_sms(runtime, tenant)
    _queue(runtime, tenant, 6)
    now = utcnow()
    with platform_session(runtime.session_factory) as one:
        mine = claim_due(one, now=now, lease_seconds=LEASE, limit=4)  # locked, not committed
        with platform_session(runtime.session_factory) as two:
            theirs = claim_due(two, now=now, lease_seconds=LEASE, limit=4)
    assert len(mine) == 4 and len(theirs) == 2
    assert not {s.id for s in mine} & {s.id for s in theirs}


def test_a_report_that_overtakes_the_recording_still_settles_the_sms(
    runtime: Runtime, tenant: Tenant
) -> None:
    enable_sms(runtime, tenant)
    (sms_id,) = _queue(runtime, tenant)
    now = utcnow()
    with runtime.platform() as session:
        (claimed,) = claim_due(session, now=now, lease_seconds=LEASE)
    # The provider took it and called back before the worker recorded the send.
    report = DeliveryReport("PROVIDER-1", DeliveryState.DELIVERED, reference=str(sms_id))
    assert apply_reports(runtime, ProviderName.SMSAPI, [report]) == 1
    with runtime.platform() as session:
        record(
            session,
            [SendOutcome(claimed, result=SendResult("PROVIDER-1", "QUEUE"))],
            now=now,
            deadline=DEADLINE,
        )
    (sms,) = rows(runtime, tenant.company_id, SmsMessage)
    assert (sms.status, sms.provider_message_id) == (SmsStatus.DELIVERED, "PROVIDER-1")
    assert sms.sent_at is not None


def test_a_report_naming_another_providers_message_is_ignored(
    runtime: Runtime, tenant: Tenant
) -> None:
    enable_sms(runtime, tenant)
    (sms_id,) = _queue(runtime, tenant)
    asyncio.run(send_due(runtime))
    forged = DeliveryReport("SOMEONE-ELSES", DeliveryState.FAILED, "x", reference=str(sms_id))
    assert apply_reports(runtime, ProviderName.SMSAPI, [forged]) == 0
    assert apply_reports(runtime, ProviderName.TWILIO, [forged]) == 0
    (sms,) = rows(runtime, tenant.company_id, SmsMessage)
    assert sms.status is SmsStatus.SENT


def _communication(runtime: Runtime, tenant: Tenant) -> int:
    with runtime.tenant(tenant.company_id) as session:
        client = Client(name="Piekarnia Kowalski")
        session.add(client)
        session.flush()
        row = ClientCommunication(
            client_id=client.id,
            channel=Channel.SMS,
            status=CommunicationStatus.QUEUED,
            source="notify",
            batch_key="test-batch",
            subject="VAT",
            body_preview="Termin ZUS: 20.11",
            recipients=["+48600100200"],
        )
        session.add(row)
        session.flush()
        return row.id


def _communication_status(runtime: Runtime, tenant: Tenant, row_id: int) -> CommunicationStatus:
    with runtime.tenant(tenant.company_id) as session:
        status = session.scalar(
            select(ClientCommunication.status).where(ClientCommunication.id == row_id)
        )
        assert status is not None
        return CommunicationStatus(status)


def test_the_client_communication_follows_its_sms(
    runtime: Runtime, tenant: Tenant, smsapi_server: FakeSmsapi, live_url: str
) -> None:
    enable_sms(runtime, tenant)
    delivered_row = _communication(runtime, tenant)
    failed_row = _communication(runtime, tenant)
    _queue(runtime, tenant, 1, communication_id=delivered_row)
    with runtime.tenant(tenant.company_id) as session:
        enqueue_sms(
            session,
            runtime=runtime,
            to_number="600100209",
            body="Termin ZUS: 20.11",
            client_id=None,
            contact_id=None,
            communication_id=failed_row,
        )
    smsapi_server.outcomes = {"48600100209": 405}
    asyncio.run(send_due(runtime))
    assert _communication_status(runtime, tenant, delivered_row) is CommunicationStatus.SENT
    smsapi_server.release_reports()
    assert _communication_status(runtime, tenant, delivered_row) is CommunicationStatus.DELIVERED
    assert _communication_status(runtime, tenant, failed_row) is CommunicationStatus.FAILED
