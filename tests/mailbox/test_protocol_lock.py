"""A4: once mail was downloaded, the incoming protocol is fixed; the refusal shows the way on."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.services.runtime import Runtime
from tests.api.helpers import create_account, imap_settings
from tests.fixtures.mailenv import MailEnv
from tests.support import Tenant

API = "/api/v1"


def test_the_protocol_is_locked_after_the_first_download(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv
) -> None:
    pop3 = imap_settings(mailenv, incoming_protocol="pop3", incoming_port=mailenv.pop3s_port)
    account = create_account(
        client, tenant.admin, mailenv, email_address="blokada@alfa.example.test", **pop3
    )
    url = f"{API}/accounts/{account['id']}"
    before = client.patch(url, headers=tenant.admin.headers, json={"fetch_interval_minutes": 10})
    assert before.status_code == 200 and before.json()["incoming_protocol_locked"] is False
    with runtime.tenant(tenant.company_id) as session:  # what the first fetch records
        session.execute(
            update(Account).where(Account.id == account["id"]).values(first_fetched_at=utcnow())
        )
    imap = imap_settings(mailenv)
    refused = client.patch(url, headers=tenant.admin.headers, json=imap)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "protocol_locked"
    assert "/api/v1/migrations" in refused.json()["detail"]
    after = client.get(url, headers=tenant.admin.headers).json()
    assert after["incoming_protocol"] == "pop3" and after["incoming_protocol_locked"] is True
    # Everything else stays editable.
    changed = client.patch(url, headers=tenant.admin.headers, json={"fetch_interval_minutes": 15})
    assert changed.status_code == 200
