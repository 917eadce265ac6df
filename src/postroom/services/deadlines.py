"""Polish tax, contribution and document deadlines per reminder kind and client (F3); no database.

The rules (docs/reminders.md):
- VAT: the 25th of the month after the month (monthly, JPK_V7M) or after the quarter
  (quarterly, JPK_V7K) — art. 103 of the VAT act.
- PIT/CIT advances: the 20th of the month after the month or quarter. The advance for the last
  period of the year (December, Q4) is still reminded on 20 January: most taxpayers pay it
  then (the annual return is filed later, and only a return filed before 20 January replaces
  the advance — too rare to drop the reminder for everyone).
- ZUS: the client's payment day (15th or 20th; 10th for budget units) of the month after the
  month.
- Documents: the client's documents day of the month after the month (the office's own term).
A deadline on a Saturday, Sunday or Polish public holiday moves to the next working day
(art. 12 § 5 of the Tax Ordinance); the holidays come from the maintained `holidays` library.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import holidays

from postroom.enums import ReminderKind, TaxPeriod
from postroom.errors import ValidationError

_PERIOD = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$")
_VAT_DAY = 25
_INCOME_TAX_DAY = 20


@dataclass(frozen=True, order=True)
class Period:
    """A settlement period: a month (quarter None) or a quarter (month None)."""

    year: int
    month: int | None = None
    quarter: int | None = None

    @property
    def quarterly(self) -> bool:
        return self.quarter is not None

    @property
    def last_month(self) -> int:
        """The period's last month (3, 6, 9, 12 for quarters)."""
        return self.quarter * 3 if self.quarter is not None else (self.month or 12)

    def __str__(self) -> str:
        if self.quarter is not None:
            return f"{self.year}-Q{self.quarter}"
        return f"{self.year}-{self.month:02d}"


@dataclass(frozen=True)
class DeadlineProfile:
    """Which deadlines apply to a client (the Client columns of the same names)."""

    vat_period: TaxPeriod = TaxPeriod.MONTHLY
    income_tax_period: TaxPeriod = TaxPeriod.MONTHLY
    zus_day: int | None = 20
    documents_day: int | None = 5


def parse_period(text: str) -> Period:
    """ "2026-10" (a month) or "2026-Q3" (a quarter)."""
    match = _PERIOD.match(text.strip().upper()) if isinstance(text, str) else None
    if match is None:
        raise ValidationError.for_field(
            "period",
            f"{text!r} is not a period: write a month as 2026-10 or a quarter as 2026-Q3.",
            "invalid_period",
        )
    year, month, quarter = match.groups()
    if month is not None:
        return Period(int(year), month=int(month))
    return Period(int(year), quarter=int(quarter))


@cache
def _polish_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("PL", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _polish_holidays(day.year)


def next_working_day(day: date) -> date:
    """`day` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def _day_in_month(year: int, month: int, day: int) -> date:
    """The day, or the month's last day when the month is shorter (a documents day of 31)."""
    return date(year, month, max(1, min(day, calendar.monthrange(year, month)[1])))


def _month_after(period: Period) -> tuple[int, int]:
    month = period.last_month
    return (period.year + 1, 1) if month == 12 else (period.year, month + 1)


def _tax_period(kind: ReminderKind, profile: DeadlineProfile) -> TaxPeriod:
    """How often the kind is settled: the tax kinds follow the client, the rest are monthly."""
    if kind is ReminderKind.VAT:
        return profile.vat_period
    if kind is ReminderKind.INCOME_TAX:
        return profile.income_tax_period
    return TaxPeriod.MONTHLY


def _day_of_deadline(kind: ReminderKind, profile: DeadlineProfile) -> int | None:
    if kind is ReminderKind.VAT:
        return _VAT_DAY
    if kind is ReminderKind.INCOME_TAX:
        return _INCOME_TAX_DAY
    if kind is ReminderKind.ZUS:
        return profile.zus_day
    return profile.documents_day


def applies(kind: ReminderKind, profile: DeadlineProfile, period: Period) -> bool:
    """Whether the client has this deadline for this period at all."""
    tax_period = _tax_period(kind, profile)
    if tax_period is TaxPeriod.NONE or _day_of_deadline(kind, profile) is None:
        return False
    return period.quarterly == (tax_period is TaxPeriod.QUARTERLY)


def nominal_deadline(kind: ReminderKind, profile: DeadlineProfile, period: Period) -> date | None:
    """The deadline the rule names, before moving off weekends and holidays; None when the
    deadline does not apply to this client (not liable, or settled per month vs quarter)."""
    day = _day_of_deadline(kind, profile)
    if day is None or not applies(kind, profile, period):
        return None
    year, month = _month_after(period)
    return _day_in_month(year, month, day)


def deadline(kind: ReminderKind, profile: DeadlineProfile, period: Period) -> date | None:
    """The real deadline: the nominal one moved to the next working day; None if not applicable."""
    nominal = nominal_deadline(kind, profile, period)
    return None if nominal is None else next_working_day(nominal)


def _months_between(start: date, end: date) -> list[Period]:
    periods = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        periods.append(Period(year, month=month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return periods


def deadlines_between(
    kind: ReminderKind, profile: DeadlineProfile, start: date, end: date
) -> list[tuple[Period, date]]:
    """Every (period, deadline) of this kind for this client with the deadline in [start, end],
    in date order."""
    if start > end or _tax_period(kind, profile) is TaxPeriod.NONE:
        return []
    # A deadline falls in the month after its period, moved by at most a couple of weeks
    # (Christmas to New Year), so periods from two months before `start` cover it.
    months = _months_between(_add_months(start, -2), end)
    if _tax_period(kind, profile) is TaxPeriod.QUARTERLY:
        periods = [
            Period(p.year, quarter=p.last_month // 3) for p in months if p.last_month % 3 == 0
        ]
    else:
        periods = months
    found = []
    for period in periods:
        due = deadline(kind, profile, period)
        if due is not None and start <= due <= end:
            found.append((period, due))
    return sorted(found, key=lambda item: item[1])


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
