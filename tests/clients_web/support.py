"""Helpers of the client pages' tests: clients and contacts made through the services."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from postroom.db.models import User
from postroom.db.models_crm import Client
from postroom.enums import ReminderKind
from postroom.services import clients, contacts, reminder_settings
from postroom.services.reminder_scheduler import office_today
from postroom.services.runtime import Runtime
from tests.support import Tenant

_SWITCH = re.compile(
    r'role="switch"\s+aria-checked="(true|false)"\s+data-channel="(\w+)"', re.MULTILINE
)


def make_client(runtime: Runtime, tenant: Tenant, name: str, **fields: Any) -> int:
    with runtime.tenant(tenant.company_id) as session:
        client = clients.create_client(session, name=name, domain=fields.pop("domain", None))
        for key, value in fields.items():
            setattr(client, key, value)
        session.flush()
        return client.id


def make_contact(
    runtime: Runtime, tenant: Tenant, client_id: int, email: str, phone: str | None = None
) -> int:
    with runtime.tenant(tenant.company_id) as session:
        contact = contacts.create_contact(
            session, email=email, name="Jan Nowak", phone=phone, client_id=client_id
        )
        return contact.id


def client_row(runtime: Runtime, tenant: Tenant, client_id: int) -> Client:
    with runtime.tenant(tenant.company_id) as session:
        client = clients.get_client(session, client_id)
        session.expunge(client)
        return client


def switches_in(html: str) -> dict[str, bool]:
    """The channel switches a page shows, by channel (the first block of each)."""
    found: dict[str, bool] = {}
    for state, channel in _SWITCH.findall(html):
        found.setdefault(channel, state == "true")
    return found


def next_month(runtime: Runtime) -> date:
    today = office_today(datetime.now(UTC), runtime.settings.local_timezone)
    last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    return last + timedelta(days=1)


def zus_on_the_tenth(runtime: Runtime, tenant: Tenant) -> None:
    """The office sends ZUS reminders on the 10th of the deadline's month (the 20th's)."""
    with runtime.tenant(tenant.company_id) as session:
        admin = session.get(User, tenant.admin.id)
        assert admin is not None
        reminder_settings.set_office_default(
            session,
            actor=admin,
            kind=ReminderKind.ZUS,
            setting=reminder_settings.ReminderSetting(True, 3, 10),
        )
