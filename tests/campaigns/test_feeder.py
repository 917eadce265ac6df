"""The feeder: sending limits with a controlled clock, pause/resume/cancel, relay limits per
message, completion, and never a row queued twice."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from postroom.config import Settings
from postroom.db.base import utcnow
from postroom.db.models import User
from postroom.db.models_outbox import OutboxMessage
from postroom.enums import EmailMode, MessageStatus
from postroom.services import messages
from postroom.services.campaign_message import idempotency_key
from postroom.services.campaign_outbox import CANCELLED_REPLY, HELD_UNTIL
from postroom.services.message_schemas import MessageCreate
from postroom.services.outbox_tables import MESSAGES
from postroom.services.runtime import Runtime
from tests.campaigns.support import (
    campaign_messages,
    create_campaign,
    feed,
    get,
    make_template,
    mark_sent,
    rows,
    sending_company,
)
from tests.services.relay_support import set_company, with_relay
from tests.support import Tenant

# The controlled clock starts a day after the real one: a campaign started by a test (at the
# real time) is due by then. A fixed date here once passed, and every test then found nothing due.
T0 = (utcnow() + timedelta(days=1)).replace(microsecond=0)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_relay(settings)


def _started(client: TestClient, tenant: Tenant, count: int, **body: object) -> int:
    template = make_template(client, tenant.admin)
    created = create_campaign(
        client,
        tenant.admin,
        name="Faktury",
        template_id=template["id"],
        recipients=rows(count),
        start=True,
        **body,
    )
    return int(created["id"])


def _ids(runtime: Runtime, tenant: Tenant, campaign_id: int) -> list[int]:
    return [m.id for m in campaign_messages(runtime, tenant, campaign_id)]


def test_an_account_with_n_a_minute_gets_at_most_n_queued_a_minute(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime, send_limit_per_minute=5)
    campaign = _started(client, tenant, 12)
    first = feed(runtime, tenant, campaign, now=T0)
    assert (first.queued, first.throttled) == (5, True)
    assert feed(runtime, tenant, campaign, now=T0).queued == 0  # the five are still to go
    mark_sent(runtime, tenant, _ids(runtime, tenant, campaign), T0)
    assert feed(runtime, tenant, campaign, now=T0 + timedelta(seconds=30)).queued == 0
    assert feed(runtime, tenant, campaign, now=T0 + timedelta(seconds=61)).queued == 5
    mark_sent(runtime, tenant, _ids(runtime, tenant, campaign), T0 + timedelta(seconds=61))
    last = feed(runtime, tenant, campaign, now=T0 + timedelta(seconds=122))
    assert (last.queued, last.throttled, last.completed) == (2, False, False)
    mark_sent(runtime, tenant, _ids(runtime, tenant, campaign), T0 + timedelta(seconds=122))
    assert feed(runtime, tenant, campaign, now=T0 + timedelta(seconds=123)).completed
    body = get(client, tenant.admin, f"/campaigns/{campaign}")
    assert (body["status"], body["progress"]["counts"]["sent"]) == ("completed", 12)


def _sent_earlier(runtime: Runtime, tenant: Tenant, account_id: int, count: int) -> None:
    """`count` messages of the account sent an hour before T0 (other mail, not the campaign's)."""
    at = T0 - timedelta(hours=1)
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(MESSAGES),
            [
                {
                    "company_id": tenant.company_id,
                    "account_id": account_id,
                    "via_relay": False,
                    "document_kind": "other",
                    "from_own_template": False,
                    "status": "sent",
                    "message_id": f"{uuid.uuid4().hex}@example.test",
                    "envelope_from": "x@gmail.com",
                    "subject": "",
                    "size": 1,
                    "next_attempt_at": at,
                    "deadline_at": at,
                    "attempt_count": 1,
                    "sent_at": at,
                    "sent_copy_status": "not_needed",
                    "created_at": at,
                }
                for _ in range(count)
            ],
        )


def test_a_gmail_mailbox_gets_no_more_than_its_daily_limit_from_the_presets(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    account = sending_company(
        client, tenant, runtime, email_address="biuro.alfa@gmail.com", smtp_host="smtp.gmail.com"
    )
    _sent_earlier(runtime, tenant, account, 497)  # Gmail: 500 a day (presets.toml)
    campaign = _started(client, tenant, 6)
    assert feed(runtime, tenant, campaign, now=T0).queued == 3
    assert feed(runtime, tenant, campaign, now=T0 + timedelta(hours=23)).queued == 0
    # Once the earlier mail is a day old, the window has room for the rest.
    mark_sent(runtime, tenant, _ids(runtime, tenant, campaign), T0)
    assert feed(runtime, tenant, campaign, now=T0 + timedelta(hours=23, minutes=1)).queued == 3


def _next_attempts(runtime: Runtime, tenant: Tenant, campaign: int) -> list[datetime]:
    return [m.next_attempt_at for m in campaign_messages(runtime, tenant, campaign)]


def test_pause_holds_the_queued_messages_and_resume_gives_them_back(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime, send_limit_per_minute=3)
    campaign = _started(client, tenant, 6)
    assert feed(runtime, tenant, campaign, now=T0).queued == 3
    paused = client.post(f"/api/v1/campaigns/{campaign}/pause", headers=tenant.admin.headers)
    assert paused.status_code == 200, paused.text
    assert (paused.json()["affected"], paused.json()["campaign"]["status"]) == (3, "paused")
    assert _next_attempts(runtime, tenant, campaign) == [HELD_UNTIL] * 3
    held = client.get(
        f"/api/v1/messages/{_ids(runtime, tenant, campaign)[0]}", headers=tenant.admin.headers
    ).json()
    assert (held["held"], held["next_attempt_at"], held["status"]) == (True, None, "queued")
    assert feed(runtime, tenant, campaign, now=T0 + timedelta(minutes=5)).queued == 0
    resumed = client.post(f"/api/v1/campaigns/{campaign}/resume", headers=tenant.admin.headers)
    assert (resumed.json()["affected"], resumed.json()["campaign"]["status"]) == (3, "running")
    assert all(when <= utcnow() for when in _next_attempts(runtime, tenant, campaign))
    mark_sent(runtime, tenant, _ids(runtime, tenant, campaign), T0)
    assert feed(runtime, tenant, campaign, now=T0 + timedelta(minutes=2)).queued == 3


def test_cancel_withdraws_what_no_worker_has_taken_and_the_pending_rows(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime, send_limit_per_minute=3)
    campaign = _started(client, tenant, 6)
    feed(runtime, tenant, campaign, now=T0)
    taken = _ids(runtime, tenant, campaign)[0]
    with runtime.tenant(tenant.company_id) as session:
        row = session.get(OutboxMessage, taken)
        assert row is not None
        row.status, row.lease_owner = MessageStatus.SENDING, "some-worker"
    cancelled = client.post(f"/api/v1/campaigns/{campaign}/cancel", headers=tenant.admin.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["affected"] == 5  # 3 pending rows and 2 unclaimed messages
    counts = cancelled.json()["campaign"]["progress"]["counts"]
    assert (counts["cancelled"], counts["queued"]) == (5, 1)
    found = campaign_messages(runtime, tenant, campaign)
    assert [(m.status, m.last_reply) for m in found] == [
        (MessageStatus.SENDING, None),
        (MessageStatus.FAILED, CANCELLED_REPLY),
        (MessageStatus.FAILED, CANCELLED_REPLY),
    ]
    again = client.post(f"/api/v1/campaigns/{campaign}/resume", headers=tenant.admin.headers)
    assert again.status_code == 409


def test_the_relay_limit_is_applied_per_message_and_a_refused_row_says_why(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    set_company(
        runtime,
        tenant.company_id,
        email_mode=EmailMode.RELAY,
        verified=True,
        relay_document_limit=2,
    )
    campaign = _started(client, tenant, 4)
    result = feed(runtime, tenant, campaign, now=T0)
    assert (result.queued, result.failed) == (2, 2)
    refused = get(client, tenant.admin, f"/campaigns/{campaign}/recipients?status=failed")
    assert [item["row_number"] for item in refused["items"]] == [3, 4]
    problem = refused["items"][0]["problems"][0]
    assert (problem["field"], problem["code"]) == ("sender", "relay_limit_reached")
    assert "limit of 2 documents" in problem["message"]
    assert all(m.via_relay for m in campaign_messages(runtime, tenant, campaign))


def test_an_unverified_company_cannot_start_own_template_documents_through_the_relay(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    set_company(runtime, tenant.company_id, email_mode=EmailMode.RELAY, verified=False)
    template = make_template(client, tenant.admin)
    response = client.post(
        "/api/v1/campaigns",
        headers=tenant.admin.headers,
        json={"name": "X", "template_id": template["id"], "recipients": rows(1)},
    )
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "relay_requires_verification"


def test_a_row_already_queued_by_another_feeder_is_not_queued_again(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    account = sending_company(client, tenant, runtime)
    campaign = _started(client, tenant, 2)
    with runtime.tenant(tenant.company_id) as session:
        user = session.get(User, tenant.admin.id)
        assert user is not None
        first = messages.submit_message(
            session,
            actor=user,
            request=MessageCreate(
                to=["klient1@example.test"],
                subject="Faktura FV/1/2026",
                text="x",
                account_id=account,
                idempotency_key=idempotency_key(campaign, 1),
            ),
            runtime=runtime,
        ).id
    assert feed(runtime, tenant, campaign, now=T0).queued == 2
    assert _ids(runtime, tenant, campaign)[0] == first
    with runtime.tenant(tenant.company_id) as session:
        total = len(session.scalars(select(OutboxMessage.id)).all())
    assert total == 2


def test_a_scheduled_campaign_waits_for_its_time(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    campaign = _started(client, tenant, 2, scheduled_at=(T0 + timedelta(hours=1)).isoformat())
    assert get(client, tenant.admin, f"/campaigns/{campaign}")["status"] == "scheduled"
    assert feed(runtime, tenant, campaign, now=T0).queued == 0
    assert feed(runtime, tenant, campaign, now=T0 + timedelta(hours=1)).queued == 2
    assert get(client, tenant.admin, f"/campaigns/{campaign}")["status"] == "running"


def test_worker_turn_feeds_every_due_campaign_of_every_company(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    other_tenant: Tenant,
    tenant_factory: Callable[..., Tenant],
) -> None:
    from postroom.services.campaign_feeder import feed_due

    campaigns = []
    for company in (tenant, other_tenant):
        sending_company(client, company, runtime)
        campaigns.append((company, _started(client, company, 2)))
    assert feed_due(runtime, worker_id="tests:1") == 4
    for company, campaign in campaigns:
        assert (
            get(client, company.admin, f"/campaigns/{campaign}")["progress"]["counts"]["queued"]
            == 2
        )


def test_a_file_deleted_after_the_check_fails_its_row_alone(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    from tests.api.sending_helpers import upload

    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin)
    recipients = rows(3)
    files = [upload(client, tenant.admin, f"FV_{n}.pdf")["id"] for n in range(3)]
    for row, file_id in zip(recipients, files, strict=True):
        row["attachment_file_ids"] = [file_id]
    created = create_campaign(
        client,
        tenant.admin,
        name="Faktury",
        template_id=template["id"],
        recipients=recipients,
        start=True,
    )
    deleted = client.delete(f"/api/v1/files/{files[1]}", headers=tenant.admin.headers)
    assert deleted.status_code == 204
    result = feed(runtime, tenant, created["id"], now=T0)
    assert (result.queued, result.failed) == (2, 1)
    failed = get(client, tenant.admin, f"/campaigns/{created['id']}/recipients?status=failed")
    assert [item["row_number"] for item in failed["items"]] == [2]
    assert failed["items"][0]["problems"][0]["field"] == "attachments[0]"
