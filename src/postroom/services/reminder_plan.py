"""Which deadline reminders go out when: every client × kind × period, minus the disabled, the
not applicable, the already sent and those whose deadline has passed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models_channels import ReminderSend
from postroom.db.models_crm import Client
from postroom.enums import ReminderKind
from postroom.services.deadlines import Period, deadlines_between
from postroom.services.reminder_data import ReminderFacts, facts_for
from postroom.services.reminder_profile import profile_of
from postroom.services.reminder_settings import (
    ReminderSetting,
    office_defaults,
    overrides_of,
    send_date,
)

# A reminder goes out at most 31 days (days_before) before its deadline, and a day_of_month
# send date lies in the deadline's month: deadlines further than this after a send date
# cannot have a reminder on it.
LOOKAHEAD = timedelta(days=62)

Key = tuple[int, ReminderKind, str]


@dataclass(frozen=True)
class PlannedReminder:
    """One reminder: for whom, of what, by when, and the day it goes out."""

    client_id: int
    client_name: str
    kind: ReminderKind
    period: Period
    deadline: date
    send_on: date  # the rule's send date (may be before today: then it goes out at once)
    facts: ReminderFacts | None = None

    @property
    def key(self) -> Key:
        return (self.client_id, self.kind, str(self.period))

    def goes_out(self, today: date) -> date:
        """The day it really leaves: its send date, or today when that has passed."""
        return max(self.send_on, today)


def _settings_of(
    session: Session, clients: list[Client]
) -> Iterator[tuple[Client, dict[ReminderKind, ReminderSetting]]]:
    defaults = office_defaults(session)
    overrides = overrides_of(session, [c.id for c in clients])
    for client in clients:
        own = overrides.get(client.id)
        yield (
            client,
            {
                kind: own[kind].over(default) if own else default
                for kind, default in defaults.items()
            },
        )


def _sent_keys(session: Session, client_ids: list[int], periods: set[str]) -> set[Key]:
    if not client_ids or not periods:
        return set()
    rows = session.execute(
        select(ReminderSend.client_id, ReminderSend.kind, ReminderSend.period).where(
            ReminderSend.client_id.in_(client_ids), ReminderSend.period.in_(periods)
        )
    )
    return {(row.client_id, row.kind, row.period) for row in rows}


def _clients(session: Session, client_id: int | None) -> list[Client]:
    query = select(Client).order_by(Client.id)
    if client_id is not None:
        query = query.where(Client.id == client_id)
    return list(session.scalars(query))


def candidates(
    session: Session, *, first_deadline: date, last_deadline: date, client_id: int | None = None
) -> list[PlannedReminder]:
    """Every enabled, applicable, not yet sent reminder with its deadline in the range."""
    clients = _clients(session, client_id)
    found: list[PlannedReminder] = []
    for client, settings in _settings_of(session, clients):
        profile = profile_of(client)
        for kind, setting in settings.items():
            if not setting.enabled:
                continue
            for period, due in deadlines_between(kind, profile, first_deadline, last_deadline):
                found.append(
                    PlannedReminder(
                        client.id, client.name, kind, period, due, send_date(setting, due)
                    )
                )
    sent = _sent_keys(session, [c.id for c in clients], {str(r.period) for r in found})
    return [r for r in found if r.key not in sent]


def _with_facts(session: Session, reminders: list[PlannedReminder]) -> list[PlannedReminder]:
    facts = facts_for(session, [r.key for r in reminders])
    return [
        PlannedReminder(
            r.client_id, r.client_name, r.kind, r.period, r.deadline, r.send_on, facts.get(r.key)
        )
        for r in reminders
    ]


def plan_reminders(
    session: Session, *, start: date, end: date, today: date, client_id: int | None = None
) -> list[PlannedReminder]:
    """What goes out from `start` to `end` (inclusive), by the day it goes out. A reminder
    whose send date has passed but whose deadline has not goes out today (at the next run);
    one whose deadline has passed never goes out (a new client gets no old reminders)."""
    if start > end:
        return []
    found = candidates(
        session,
        first_deadline=max(start, today),
        last_deadline=end + LOOKAHEAD,
        client_id=client_id,
    )
    chosen = [r for r in found if start <= r.goes_out(today) <= end]
    chosen.sort(key=lambda r: (r.goes_out(today), r.deadline, r.client_name, r.kind.value))
    return _with_facts(session, chosen)


def due_reminders(session: Session, *, today: date, send_through: date) -> list[PlannedReminder]:
    """Reminders to send now: send date on or before `send_through`, deadline today or later."""
    found = candidates(session, first_deadline=today, last_deadline=today + LOOKAHEAD)
    due = [r for r in found if r.send_on <= send_through]
    due.sort(key=lambda r: (r.send_on, r.client_id, r.kind.value, str(r.period)))
    return _with_facts(session, due)
