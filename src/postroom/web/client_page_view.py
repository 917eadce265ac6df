"""What the client page shows: details and deadline profile, contacts with their Web Push
links, reminder overrides, the last message's outcome and the communication history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from postroom.db.models_channels import ClientCommunication
from postroom.db.models_crm import Client, Contact
from postroom.enums import CommunicationStatus, ReminderKind, TaxPeriod
from postroom.services import (
    clients,
    communications,
    contacts,
    push_subscriptions,
    reminder_settings,
    sms_office,
)
from postroom.services.client_channels import DOCUMENTS_DAYS, ZUS_DAYS
from postroom.services.runtime import Runtime
from postroom.web.clients_view import day_choices, labels, switches

HISTORY_SIZE = 30
CONTACTS_SHOWN = 100
REFRESH_SECONDS = 3  # the history asks for itself this often while a message is queued


@dataclass(frozen=True)
class ContactRow:
    contact: Contact
    portal_url: str | None
    subscribed: int  # live browser subscriptions


@dataclass(frozen=True)
class OverrideRow:
    kind: ReminderKind
    enabled: bool | None
    days_before: int | None
    day_of_month: int | None
    effective: reminder_settings.ReminderSetting


def _contact_rows(session: Session, runtime: Runtime, client_id: int) -> list[ContactRow]:
    rows, _total = contacts.list_contacts(session, client_id=client_id, limit=CONTACTS_SHOWN)
    base = runtime.settings.effective_public_url
    found = []
    for contact in rows:
        subscriptions = push_subscriptions.for_contact(session, contact_id=contact.id)
        live = sum(1 for s in subscriptions if s.expired_at is None)
        token = contact.portal_token
        url = base + push_subscriptions.portal_path(token) if token else None
        found.append(ContactRow(contact, url, live))
    return found


def _override_rows(session: Session, client_id: int) -> list[OverrideRow]:
    overrides = reminder_settings.client_overrides(session, client_id)
    effective = reminder_settings.effective_settings(session, client_id)
    return [
        OverrideRow(
            kind,
            overrides[kind].enabled,
            overrides[kind].days_before,
            overrides[kind].day_of_month,
            effective[kind],
        )
        for kind in ReminderKind
    ]


def history_context(session: Session, client_id: int) -> dict[str, Any]:
    rows, total = communications.list_history(session, client_id=client_id, limit=HISTORY_SIZE)
    return {
        "history": rows,
        "history_total": total,
        "history_live": any(r.status is CommunicationStatus.QUEUED for r in rows),
        "refresh_seconds": REFRESH_SECONDS,
    }


def outcome_rows(session: Session, client_id: int, batch_key: str) -> list[ClientCommunication]:
    """The channels of the message just sent (the key is in the page's address)."""
    if not batch_key or len(batch_key) > 64:
        return []
    return [r for r in communications.batch_rows(session, batch_key) if r.client_id == client_id]


def profile_choices() -> dict[str, Any]:
    return {
        "periods": list(TaxPeriod),
        "zus_days": list(ZUS_DAYS),
        "documents_days": list(DOCUMENTS_DAYS),
        "days_before_choices": day_choices(*reminder_settings.DAYS_BEFORE_RANGE),
        "day_of_month_choices": day_choices(*reminder_settings.DAY_OF_MONTH_RANGE),
    }


def client_page_context(
    session: Session, runtime: Runtime, client_id: int, batch_key: str = ""
) -> dict[str, Any]:
    client: Client = clients.get_client(session, client_id)
    return {
        **labels(),
        **profile_choices(),
        **history_context(session, client_id),
        "client": client,
        "switches": switches(client),
        "switch_error": None,
        "sms_on": sms_office.sms_enabled(session),
        "contact_rows": _contact_rows(session, runtime, client_id),
        "overrides": _override_rows(session, client_id),
        "outcomes": outcome_rows(session, client_id, batch_key),
        "price": sms_office.current_price_list(runtime.settings),
    }
