"""Reminder test helpers: clients with contacts, and what the scheduler left in the database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from postroom.db.models_channels import ClientCommunication, ReminderSend
from postroom.db.models_crm import Client, Notification
from postroom.enums import Channel
from postroom.services import clients, contacts
from postroom.services.runtime import Runtime

# 09:00 in Warsaw (UTC+1 in winter, +2 in summer): after the 08:00 send time either way.
MORNING_UTC_HOUR = 7


def morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, MORNING_UTC_HOUR, tzinfo=UTC)


def make_client(
    runtime: Runtime, company_id: int, name: str, *, contacts_count: int = 1, **fields: Any
) -> int:
    """A client company with `contacts_count` contact persons; `fields` set Client columns."""
    with runtime.tenant(company_id) as session:
        client = clients.create_client(session, name=name)
        for field_name, value in fields.items():
            setattr(client, field_name, value)
        session.flush()
        slug = name.lower().replace(" ", "-")
        for number in range(contacts_count):
            contacts.create_contact(
                session, email=f"osoba{number}@{slug}.example.test", client_id=client.id
            )
        return client.id


def sends(runtime: Runtime, company_id: int) -> list[tuple[int, str, str]]:
    """(client id, kind, period) of every ReminderSend row, sorted."""
    with runtime.tenant(company_id) as session:
        rows = session.execute(
            select(ReminderSend.client_id, ReminderSend.kind, ReminderSend.period)
        ).all()
        return sorted((r.client_id, r.kind.value, r.period) for r in rows)


def communications_per_batch(runtime: Runtime, company_id: int) -> Counter[tuple[str, Channel]]:
    """How many history rows each (reminder batch key, channel) has."""
    with runtime.tenant(company_id) as session:
        rows = session.execute(
            select(ClientCommunication.batch_key, ClientCommunication.channel).where(
                ClientCommunication.source == "reminder"
            )
        ).all()
        return Counter((r.batch_key, r.channel) for r in rows)


def feed_titles(runtime: Runtime, company_id: int) -> list[str]:
    with runtime.tenant(company_id) as session:
        return list(
            session.scalars(
                select(Notification.title)
                .where(Notification.contact_id.is_not(None))
                .order_by(Notification.id)
            )
        )


def client_ids(runtime: Runtime, company_id: int) -> list[int]:
    with runtime.tenant(company_id) as session:
        return list(session.scalars(select(Client.id).order_by(Client.id)))
