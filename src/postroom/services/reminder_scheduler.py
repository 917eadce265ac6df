"""Sending deadline reminders exactly once per client, kind and period.

Each reminder is its own transaction: insert its ReminderSend row (unique on client, kind and
period) and queue its messages through `notify_client`, which writes the communication rows
and the outbox / SMS / push rows in the same transaction. A second worker that picked the same
reminder fails on the unique key (on PostgreSQL it waits for the first one's commit, then
clashes), rolls back that reminder's transaction and moves on; a worker killed mid-way leaves
nothing behind, so the next run sends that reminder. Exactly once, across restarts and
workers. A transaction per reminder rather than a savepoint per reminder in one long one: a
worker holds no lock longer than one reminder, and other workers never wait behind a batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postroom.db.models import Company
from postroom.db.models_channels import ReminderSend
from postroom.db.models_crm import Client
from postroom.enums import CommunicationStatus, NoticeStatus
from postroom.services.client_notify import ChannelOutcome, ClientMessage, notify_client
from postroom.services.office_sender import office_language
from postroom.services.reminder_messages import office_name, reminder_text
from postroom.services.reminder_plan import PlannedReminder, due_reminders, plan_reminders
from postroom.services.runtime import Runtime

__all__ = ["office_today", "plan_reminders", "send_due_reminders"]

log = logging.getLogger("postroom.reminders")
# Reminders due today leave from 8 o'clock office time, not at midnight: nobody wants a tax
# SMS at 00:05.
SEND_FROM = time(8, 0)
_CARRIED = (CommunicationStatus.QUEUED, CommunicationStatus.SENT, CommunicationStatus.DELIVERED)

Checkpoint = Callable[[PlannedReminder], None]


def office_today(now: datetime, time_zone: str) -> date:
    """The office's date (POSTROOM_LOCAL_TIMEZONE, Europe/Warsaw by default)."""
    return now.astimezone(ZoneInfo(time_zone)).date()


def _send_through(now: datetime, time_zone: str) -> date:
    """The last send date that is due at `now`: today from 08:00 office time, else yesterday."""
    local = now.astimezone(ZoneInfo(time_zone))
    return local.date() if local.time() >= SEND_FROM else local.date() - timedelta(days=1)


def batch_key(reminder: PlannedReminder) -> str:
    """The same for every channel of one reminder, and stable across retries."""
    return f"reminder-{reminder.client_id}-{reminder.kind.value}-{reminder.period}"


def _record(row: ReminderSend, outcomes: list[ChannelOutcome]) -> None:
    carried = [o.channel.value for o in outcomes if o.status in _CARRIED]
    if carried:
        row.status, row.detail = NoticeStatus.SENT, "channels: " + ", ".join(carried)
        return
    # Recorded anyway: retrying every few minutes would only repeat the same skipped rows.
    row.status = NoticeStatus.FAILED
    reasons = [f"{o.channel.value}: {o.detail or o.status.value}" for o in outcomes]
    row.detail = "; ".join(reasons) or "No channel is enabled for this client."


class _AlreadySentError(Exception):
    """Another worker committed this reminder first (its unique row exists)."""


def _claim(session: Session, reminder: PlannedReminder, key: str) -> ReminderSend:
    """Insert the unique row, the transaction's first write. No savepoint around it: with
    Python's sqlite3 a SAVEPOINT opened before any INSERT starts the transaction itself and
    its RELEASE commits it — the row would be committed before the messages were queued. A
    clash rolls back the whole transaction instead, which holds only this reminder."""
    row = ReminderSend(
        client_id=reminder.client_id,
        kind=reminder.kind,
        period=str(reminder.period),
        deadline=reminder.deadline,
        send_on=reminder.send_on,
        batch_key=key,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise _AlreadySentError from exc
    return row


def _send_one(
    runtime: Runtime, company_id: int, reminder: PlannedReminder, checkpoint: Checkpoint | None
) -> bool:
    """Send one reminder in its own transaction; False when it was not this call's to send."""
    key = batch_key(reminder)
    try:
        with runtime.tenant(company_id) as session:
            client = session.get(Client, reminder.client_id)
            if client is None:  # deleted since the plan was made
                return False
            row = _claim(session, reminder, key)
            outcomes = notify_client(
                session,
                runtime=runtime,
                client=client,
                message=_message(session, reminder),
                source="reminder",
                actor=None,
                batch_key=key,
            )
            _record(row, outcomes)
            if checkpoint is not None:
                checkpoint(reminder)  # tests stop a worker here, before the commit
    except _AlreadySentError:
        return False
    return True


def _message(session: Session, reminder: PlannedReminder) -> ClientMessage:
    text = reminder_text(
        kind=reminder.kind,
        period=reminder.period,
        deadline=reminder.deadline,
        facts=reminder.facts,
        language=office_language(session),
        office=office_name(session),
    )
    return ClientMessage(subject=text.subject, text=text.text, sms_text=text.sms_text)


def send_company_reminders(
    runtime: Runtime, *, company_id: int, now: datetime, checkpoint: Checkpoint | None = None
) -> int:
    """Send one company's due reminders; the number sent by this call."""
    zone = runtime.settings.local_timezone
    with runtime.tenant(company_id) as session:
        due = due_reminders(
            session, today=office_today(now, zone), send_through=_send_through(now, zone)
        )
    sent = 0
    for reminder in due:
        try:
            sent += _send_one(runtime, company_id, reminder, checkpoint)
        except Exception:
            # One client's failure (a broken address…) must not hold back the others; the
            # reminder was rolled back and is tried again at the next run.
            log.exception(
                "reminder failed",
                extra={"company_id": company_id, "client_id": reminder.client_id},
            )
    return sent


def send_due_reminders(
    runtime: Runtime, *, now: datetime, checkpoint: Checkpoint | None = None
) -> int:
    """Send every company's due reminders (the worker's job); the number sent by this call.
    `now` is passed in so tests choose the day."""
    with runtime.platform() as session:
        company_ids = list(session.scalars(select(Company.id).order_by(Company.id)))
    return sum(
        send_company_reminders(runtime, company_id=company_id, now=now, checkpoint=checkpoint)
        for company_id in company_ids
    )
