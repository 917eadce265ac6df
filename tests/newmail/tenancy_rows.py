"""Rows of the new-mail features for the tenancy table (tests/api/test_tenancy.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from postroom.db.models_crm import Client, Contact, Notification, Task
from tests.api.helpers import create
from tests.newmail.support import arrive, message, set_account
from tests.support import Tenant


def newmail_rows(client: TestClient, tenant: Tenant, account_id: int) -> dict[str, int]:
    """A contact, client, task and notification made by incoming mail, and a webhook."""
    runtime = tenant.runtime
    set_account(runtime, tenant.company_id, account_id, create_contacts=True, create_tasks=True)
    arrive(runtime, tenant.company_id, account_id, [message(subject="Zapytanie alfa")])
    with runtime.tenant(tenant.company_id) as session:
        found = {
            "contact": session.scalar(select(Contact.id)),
            "client": session.scalar(select(Client.id)),
            "task": session.scalar(select(Task.id)),
            "notification": session.scalar(
                select(Notification.id).where(Notification.user_id == tenant.admin.id)
            ),
        }
    webhook = create(client, tenant.admin, "webhooks", {"url": "https://erp.alfa.example.test/"})
    ids = {name: int(value) for name, value in found.items() if value is not None}
    assert len(ids) == len(found), found
    return {**ids, "webhook": webhook["id"]}
