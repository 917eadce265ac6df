"""Helpers of the campaign tests: templates, campaigns, the feeder, outbox rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from postroom.db.models_campaigns import CampaignRecipient
from postroom.db.models_outbox import OutboxMessage
from postroom.enums import MessageStatus
from postroom.services.campaign_feeder import FeedOptions, FeedResult, feed_campaign
from postroom.services.runtime import Runtime
from tests.api.sending_helpers import turn_email_on
from tests.support import Member, Tenant
from tests.worker.outbox_support import make_account

INVOICE_HTML = (
    "<p>Dzień dobry {{ name }},</p>\n"
    "<p>w załączniku faktura {{ invoice_no }} na kwotę {{ amount }} zł.</p>\n"
)
WORKER = "tests:feeder:1"


def make_template(
    client: TestClient,
    member: Member,
    *,
    name: str = "Faktura",
    kind: str = "invoice",
    **fields: Any,
) -> dict[str, Any]:
    body = {
        "name": name,
        "document_kind": kind,
        "subject": "Faktura {{ invoice_no }}",
        "html": INVOICE_HTML,
        **fields,
    }
    response = client.post("/api/v1/templates", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def template_id(created: dict[str, Any]) -> int:
    return int(created["id"])


def sending_company(client: TestClient, tenant: Tenant, runtime: Runtime, **account: Any) -> int:
    """E-mail on (own servers) and a company account (no limits unless `account` sets some);
    its id."""
    turn_email_on(client, tenant.admin)
    return make_account(runtime, tenant.company_id, **account)


def rows(count: int, start: int = 1, **variables: Any) -> list[dict[str, Any]]:
    return [
        {
            "email": f"klient{n}@example.test",
            "name": f"Klient {n}",
            "variables": {"invoice_no": f"FV/{n}/2026", "amount": f"{n}00,00", **variables},
        }
        for n in range(start, start + count)
    ]


def create_campaign(client: TestClient, member: Member, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/campaigns", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def start(client: TestClient, member: Member, campaign_id: int, **body: Any) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/campaigns/{campaign_id}/start", headers=member.headers, json=body or None
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def feed(
    runtime: Runtime,
    tenant: Tenant,
    campaign_id: int,
    now: datetime | None = None,
    **options: Any,
) -> FeedResult:
    return feed_campaign(
        runtime,
        tenant.company_id,
        campaign_id,
        worker_id=WORKER,
        now=now,
        options=FeedOptions(**options),
    )


def campaign_messages(runtime: Runtime, tenant: Tenant, campaign_id: int) -> list[OutboxMessage]:
    """The outbox messages of the campaign's rows, in row order, with their MIME loaded."""
    with runtime.tenant(tenant.company_id) as session:
        ids = session.scalars(
            select(CampaignRecipient.outbox_message_id)
            .where(
                CampaignRecipient.campaign_id == campaign_id,
                CampaignRecipient.outbox_message_id.is_not(None),
            )
            .order_by(CampaignRecipient.row_number)
        ).all()
        found = []
        for message_id in ids:
            message = session.get(OutboxMessage, message_id)
            assert message is not None
            _ = message.body.mime, message.recipients
            found.append(message)
        session.expunge_all()
        return found


def mark_sent(runtime: Runtime, tenant: Tenant, message_ids: list[int], at: datetime) -> None:
    """As if the worker had delivered them at `at`."""
    with runtime.tenant(tenant.company_id) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids))
            .values(status=MessageStatus.SENT, sent_at=at)
        )


def get(client: TestClient, member: Member, path: str) -> Any:
    response = client.get(f"/api/v1{path}", headers=member.headers)
    assert response.status_code == 200, response.text
    return response.json()
