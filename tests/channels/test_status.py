"""The history shows the live state: SMS through the SMSAPI fake and its delivery reports,
push rows as the push worker leaves them, each re-derived by refresh_status."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from postroom.db.models_channels import ClientCommunication, PushMessage
from postroom.enums import PushStatus
from postroom.services import communications
from postroom.services.runtime import Runtime
from postroom.services.sms_queue import send_due
from tests.channels.support import (
    enable_office_sms,
    history,
    make_client,
    make_contact,
    notify,
    ok,
    outcomes_by_channel,
    rows_of,
    subscribe_browser,
)
from tests.fixtures.fake_smsapi import FakeSmsapi
from tests.sms.support import live_app
from tests.support import Tenant


@pytest.fixture
def live_url(runtime: Runtime, app_port: int) -> Iterator[str]:
    """The app where SMSAPI's delivery reports call back (POSTROOM_PUBLIC_URL's port)."""
    with live_app(runtime, app_port) as url:
        yield url


def _sms_outcome(api: TestClient, tenant: Tenant, phones: list[str]) -> tuple[int, int]:
    enable_office_sms(api, tenant.admin)
    created = make_client(api, tenant.admin, channel_sms=True, channel_inapp=False)
    for number, phone in enumerate(phones):
        make_contact(api, tenant.admin, created["id"], f"osoba{number}@example.test", phone)
    sms = outcomes_by_channel(ok(notify(api, tenant.admin, created["id"])))["sms"]
    assert sms["status"] == "queued"
    return created["id"], sms["communication_id"]


def _sms_row(api: TestClient, tenant: Tenant, client_id: int) -> dict[str, object]:
    rows = history(api, tenant.admin, client_id, channel="sms")["items"]
    assert len(rows) == 1
    found: dict[str, object] = rows[0]
    return found


def test_sms_is_sent_then_delivered_by_the_providers_report(
    api: TestClient, runtime: Runtime, tenant: Tenant, smsapi_server: FakeSmsapi, live_url: str
) -> None:
    client_id, _ = _sms_outcome(api, tenant, ["600100200", "600100201"])
    assert asyncio.run(send_due(runtime)) == 2
    assert _sms_row(api, tenant, client_id)["status"] == "sent"
    answers = smsapi_server.release_reports()
    assert [a.body for a in answers] == ["OK", "OK"]
    assert _sms_row(api, tenant, client_id)["status"] == "delivered"


def test_an_undelivered_sms_report_fails_the_history_row(
    api: TestClient, runtime: Runtime, tenant: Tenant, smsapi_server: FakeSmsapi, live_url: str
) -> None:
    smsapi_server.outcomes["48600100300"] = 405  # UNDELIVERED
    client_id, _ = _sms_outcome(api, tenant, ["600100300"])
    asyncio.run(send_due(runtime))
    smsapi_server.release_reports()
    row = _sms_row(api, tenant, client_id)
    assert row["status"] == "failed"
    assert row["detail"]


def test_one_of_two_sms_undelivered_is_named_in_the_detail(
    api: TestClient, runtime: Runtime, tenant: Tenant, smsapi_server: FakeSmsapi, live_url: str
) -> None:
    smsapi_server.outcomes["48600100401"] = 405
    client_id, _ = _sms_outcome(api, tenant, ["600100400", "600100401"])
    asyncio.run(send_due(runtime))
    smsapi_server.release_reports()
    row = _sms_row(api, tenant, client_id)
    assert row["status"] == "delivered"
    assert str(row["detail"]).startswith("1 of 2 failed")


def _set_push(runtime: Runtime, tenant: Tenant, statuses: list[PushStatus]) -> None:
    with runtime.tenant(tenant.company_id) as session:
        ids = [m.id for m in rows_of(runtime, tenant, PushMessage)]
        for push_id, status in zip(ids, statuses, strict=True):
            error = "HTTP 500 from the push service" if status is PushStatus.FAILED else None
            session.execute(
                update(PushMessage)
                .where(PushMessage.id == push_id)
                .values(status=status, error=error)
            )


@pytest.mark.parametrize(
    ("statuses", "expected", "detail"),
    [
        ([PushStatus.QUEUED, PushStatus.QUEUED], "queued", None),
        ([PushStatus.SENT, PushStatus.QUEUED], "sent", None),
        ([PushStatus.SENT, PushStatus.SENT], "sent", None),
        ([PushStatus.SENT, PushStatus.FAILED], "sent", "1 of 2 failed: HTTP 500"),
        ([PushStatus.EXPIRED, PushStatus.FAILED], "failed", "The browser's subscription"),
        ([PushStatus.FAILED, PushStatus.EXPIRED], "failed", "HTTP 500 from the push service"),
    ],
)
def test_push_status_is_derived_from_its_messages(
    api: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    statuses: list[PushStatus],
    expected: str,
    detail: str | None,
) -> None:
    created = make_client(api, tenant.admin, channel_inapp=False)
    contact = make_contact(api, tenant.admin, created["id"], "anna@example.test")
    for number in (1, 2):
        subscribe_browser(runtime, tenant, created["id"], contact["id"], number)
    push = outcomes_by_channel(ok(notify(api, tenant.admin, created["id"])))["webpush"]
    _set_push(runtime, tenant, statuses)

    with runtime.tenant(tenant.company_id) as session:  # as the push worker calls it
        communications.refresh_status(session, push["communication_id"])

    row = rows_of(runtime, tenant, ClientCommunication, id=push["communication_id"])[0]
    assert row.status.value == expected
    if detail is None:
        assert row.detail is None
    else:
        assert row.detail is not None and row.detail.startswith(detail)


def test_refreshing_a_missing_communication_does_nothing(runtime: Runtime, tenant: Tenant) -> None:
    with runtime.tenant(tenant.company_id) as session:
        communications.refresh_status(session, 424242)
