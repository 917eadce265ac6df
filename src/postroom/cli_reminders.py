"""`postroom reminders upcoming`: what goes out when, for one company (docs/reminders.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import click

from postroom.config import load_settings
from postroom.services.reminder_scheduler import office_today
from postroom.services.reminder_upcoming import UpcomingEntry, upcoming
from postroom.services.runtime import build_runtime


@click.group()
def reminders() -> None:
    """Deadline reminders and unpaid-invoice notices."""


def _what(entry: UpcomingEntry) -> str:
    if entry.type == "reminder" and entry.kind is not None:
        return f"{entry.kind.value} {entry.period} (deadline {entry.deadline})"
    return f"invoice {entry.invoice_number}, notice {entry.level} ({entry.level_name or '-'})"


def _line(entry: UpcomingEntry) -> str:
    amount = f"  {entry.amount} {entry.currency}" if entry.amount is not None else ""
    return f"{entry.on}  {entry.client_name} [{entry.client_id}]  {_what(entry)}{amount}"


@reminders.command("upcoming")
@click.option("--company", "company_id", type=int, required=True, help="The company's id.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="From this day (default today).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Through this day (default +31).")
@click.option("--client", "client_id", type=int, help="Only this client.")
def reminders_upcoming(
    company_id: int, start: datetime | None, end: datetime | None, client_id: int | None
) -> None:
    """List what goes out from START to END, one line per reminder or notice, by day."""
    try:
        settings = load_settings()
    except ValueError as exc:
        raise click.ClickException(f"Invalid configuration: {exc}") from exc
    runtime = build_runtime(settings)
    try:
        today = office_today(datetime.now(UTC), settings.local_timezone)
        first: date = start.date() if start else today
        last: date = end.date() if end else first + timedelta(days=31)
        with runtime.tenant(company_id) as session:
            found = upcoming(session, start=first, end=last, today=today, client_id=client_id)
    finally:
        runtime.close()
    for entry in found:
        click.echo(_line(entry))
    click.echo(f"{len(found)} to go out from {first} to {last}.")
