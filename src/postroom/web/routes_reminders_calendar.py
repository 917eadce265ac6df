"""Upcoming reminders as a month calendar (and a list): what goes out on each day, deadline
reminders and unpaid-invoice notices, for every client or one."""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from postroom.services import clients, reminder_upcoming
from postroom.services.reminder_scheduler import office_today
from postroom.services.reminder_upcoming import UpcomingEntry
from postroom.web.auth import RuntimeDep, VisitorDep, tenant_work
from postroom.web.clients_view import labels
from postroom.web.i18n import N_
from postroom.web.rendering import render

router = APIRouter()

PAGE = "/reminders/calendar"
CLIENTS_IN_FILTER = 500
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
MONTHS = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)


@dataclass(frozen=True)
class Day:
    on: date
    in_month: bool
    entries: list[UpcomingEntry]


def _month_of(text: str, today: date) -> date:
    found = _MONTH.match(text or "")
    if not found:
        return today.replace(day=1)
    return date(int(found.group(1)), int(found.group(2)), 1)


def _shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _grid_bounds(month: date) -> tuple[date, date]:
    """Monday of the first week through Sunday of the last week of the month."""
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    return month - timedelta(days=month.weekday()), last + timedelta(days=6 - last.weekday())


def _weeks(month: date, start: date, end: date, entries: list[UpcomingEntry]) -> list[list[Day]]:
    by_day: dict[date, list[UpcomingEntry]] = defaultdict(list)
    for entry in entries:
        by_day[entry.on].append(entry)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    cells = [Day(d, d.month == month.month, by_day.get(d, [])) for d in days]
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


def _client_filter(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@router.get(PAGE, response_model=None)
def calendar_page(request: Request, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    params = request.query_params
    today = office_today(datetime.now(UTC), runtime.settings.local_timezone)
    month = _month_of(params.get("month", ""), today)
    client_id = _client_filter(params.get("client_id"))
    as_list = params.get("view") == "list"
    start, end = _grid_bounds(month)
    with tenant_work(runtime, visitor) as (session, _actor):
        if client_id is not None:
            clients.get_client(session, client_id)  # another company's id: 404
        entries = reminder_upcoming.upcoming(
            session, start=start, end=end, today=today, client_id=client_id
        )
        options, _total = clients.list_clients(session, limit=CLIENTS_IN_FILTER)
        choices = [(c.id, c.name) for c in options]
    in_month = [e for e in entries if e.on.month == month.month]
    context = {
        **labels(),
        "month": month,
        "month_value": month.strftime("%Y-%m"),
        "previous_month": _shift(month, -1).strftime("%Y-%m"),
        "next_month": _shift(month, 1).strftime("%Y-%m"),
        "today": today,
        "weeks": _weeks(month, start, end, entries),
        "weekdays": WEEKDAYS,
        "month_name": MONTHS[month.month - 1],
        "entries": in_month,
        "as_list": as_list,
        "client_id": client_id,
        "client_choices": choices,
        "query_client": f"&client_id={client_id}" if client_id is not None else "",
    }
    return render(request, "reminders_calendar.html", context)
