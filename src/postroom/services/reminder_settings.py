"""Reminder settings: the office's defaults per kind, each client's overrides, the send date.

The send date of a reminder (docs/reminders.md): when `day_of_month` is set and that day of
the deadline's month is not after the deadline, the reminder goes out on it; otherwise it goes
out `days_before` days before the deadline. So "on the 10th" sends a VAT reminder for the 25th
on the 10th, and falls back to "3 days before" for a deadline that comes before the 10th.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.db.models_channels import ClientReminderOverride, ReminderDefault
from postroom.db.models_crm import Client
from postroom.enums import ReminderKind
from postroom.errors import FieldProblem, ValidationError
from postroom.services.guards import get_or_404, require_admin

DAYS_BEFORE_RANGE = (0, 31)
DAY_OF_MONTH_RANGE = (1, 28)  # every month has it


@dataclass(frozen=True)
class ReminderSetting:
    """How one kind of reminder goes out: on or off, and when."""

    enabled: bool = True  # seed 001: every kind on by default
    days_before: int = 3
    day_of_month: int | None = None


@dataclass(frozen=True)
class ReminderOverride:
    """A client's own values; None inherits the office's."""

    enabled: bool | None = None
    days_before: int | None = None
    day_of_month: int | None = None

    def over(self, default: ReminderSetting) -> ReminderSetting:
        return ReminderSetting(
            enabled=default.enabled if self.enabled is None else self.enabled,
            days_before=default.days_before if self.days_before is None else self.days_before,
            day_of_month=default.day_of_month if self.day_of_month is None else self.day_of_month,
        )


BUILT_IN = ReminderSetting()


def send_date(setting: ReminderSetting, deadline: date) -> date:
    """The day the reminder for `deadline` goes out (the rule in the module docstring)."""
    if setting.day_of_month is not None:
        fixed = date(deadline.year, deadline.month, setting.day_of_month)
        if fixed <= deadline:
            return fixed
    return deadline - timedelta(days=setting.days_before)


def _check(days_before: int | None, day_of_month: int | None, prefix: str) -> None:
    problems = []
    low, high = DAYS_BEFORE_RANGE
    if days_before is not None and not low <= days_before <= high:
        problems.append(
            FieldProblem(
                f"{prefix}days_before",
                f"days_before must be between {low} and {high}; {days_before} is not.",
                "out_of_range",
            )
        )
    low, high = DAY_OF_MONTH_RANGE
    if day_of_month is not None and not low <= day_of_month <= high:
        problems.append(
            FieldProblem(
                f"{prefix}day_of_month",
                f"day_of_month must be between {low} and {high} (a day every month has), "
                f"or null to send days_before the deadline; {day_of_month} is not.",
                "out_of_range",
            )
        )
    if problems:
        raise ValidationError(" ".join(p.message for p in problems), problems)


def office_defaults(session: Session) -> dict[ReminderKind, ReminderSetting]:
    """Every kind's office setting; a kind without a row has the built-in default."""
    found = {
        row.kind: ReminderSetting(row.enabled, row.days_before, row.day_of_month)
        for row in session.scalars(select(ReminderDefault))
    }
    return {kind: found.get(kind, BUILT_IN) for kind in ReminderKind}


def set_office_default(
    session: Session, *, actor: User, kind: ReminderKind, setting: ReminderSetting
) -> ReminderSetting:
    """Administrators only: the office's defaults apply to every client."""
    require_admin(actor, "change the office's reminder settings")
    _check(setting.days_before, setting.day_of_month, f"{kind.value}.")
    row = session.scalar(select(ReminderDefault).where(ReminderDefault.kind == kind))
    if row is None:
        row = ReminderDefault(kind=kind)
        session.add(row)
    row.enabled = setting.enabled
    row.days_before = setting.days_before
    row.day_of_month = setting.day_of_month
    session.flush()
    return setting


def client_overrides(session: Session, client_id: int) -> dict[ReminderKind, ReminderOverride]:
    """Every kind's override for the client (all None where it has none)."""
    get_or_404(session, Client, client_id, "Client")
    return overrides_of(session, [client_id]).get(client_id, _no_overrides())


def _no_overrides() -> dict[ReminderKind, ReminderOverride]:
    return dict.fromkeys(ReminderKind, ReminderOverride())


def overrides_of(
    session: Session, client_ids: list[int]
) -> dict[int, dict[ReminderKind, ReminderOverride]]:
    """The overrides of many clients in one query (the scheduler's), by client id."""
    found: dict[int, dict[ReminderKind, ReminderOverride]] = {}
    rows = session.scalars(
        select(ClientReminderOverride).where(ClientReminderOverride.client_id.in_(client_ids))
    )
    for row in rows:
        found.setdefault(row.client_id, _no_overrides())[row.kind] = ReminderOverride(
            row.enabled, row.days_before, row.day_of_month
        )
    return found


def set_client_override(
    session: Session, *, client_id: int, kind: ReminderKind, override: ReminderOverride
) -> ReminderOverride:
    """Set (or, with every field None, clear) the client's own setting for one kind."""
    get_or_404(session, Client, client_id, "Client")
    _check(override.days_before, override.day_of_month, f"{kind.value}.")
    row = session.scalar(
        select(ClientReminderOverride).where(
            ClientReminderOverride.client_id == client_id, ClientReminderOverride.kind == kind
        )
    )
    if override == ReminderOverride():
        if row is not None:
            session.delete(row)
        session.flush()
        return override
    if row is None:
        row = ClientReminderOverride(client_id=client_id, kind=kind)
        session.add(row)
    row.enabled = override.enabled
    row.days_before = override.days_before
    row.day_of_month = override.day_of_month
    session.flush()
    return override


def effective_settings(session: Session, client_id: int) -> dict[ReminderKind, ReminderSetting]:
    """What applies to the client: its overrides over the office's defaults."""
    defaults = office_defaults(session)
    overrides = client_overrides(session, client_id)
    return {kind: overrides[kind].over(defaults[kind]) for kind in ReminderKind}
