"""Polish deadlines: the rules per kind and client, moved off weekends and public holidays."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from postroom.enums import ReminderKind, TaxPeriod
from postroom.errors import ValidationError
from postroom.services.deadlines import (
    DeadlineProfile,
    Period,
    deadline,
    deadlines_between,
    next_working_day,
    nominal_deadline,
    parse_period,
)

MONTHLY = DeadlineProfile()
QUARTERLY = DeadlineProfile(vat_period=TaxPeriod.QUARTERLY, income_tax_period=TaxPeriod.QUARTERLY)


def p(text: str) -> Period:
    return parse_period(text)


def test_periods_parse_and_print() -> None:
    assert str(p("2026-10")) == "2026-10"
    assert str(p(" 2026-q3 ")) == "2026-Q3"
    assert p("2026-Q4").last_month == 12
    for bad in ("2026-13", "2026-Q5", "2026-1", "26-10", "2026/10", ""):
        with pytest.raises(ValidationError) as caught:
            parse_period(bad)
        assert caught.value.problems[0].code == "invalid_period"


def test_independence_day_moves_to_the_next_day() -> None:
    # 2026-11-11 is a Wednesday and a public holiday: a deadline on it is due on the 12th.
    profile = DeadlineProfile(documents_day=11)
    assert nominal_deadline(ReminderKind.DOCUMENTS, profile, p("2026-10")) == date(2026, 11, 11)
    assert deadline(ReminderKind.DOCUMENTS, profile, p("2026-10")) == date(2026, 11, 12)


def test_saturday_moves_to_monday() -> None:
    # VAT for June 2026: the 25th of July is a Saturday.
    assert date(2026, 7, 25).weekday() == 5
    assert deadline(ReminderKind.VAT, MONTHLY, p("2026-06")) == date(2026, 7, 27)


def test_sunday_moves_to_monday() -> None:
    # ZUS for September 2026 on the 15th is fine (Thursday); VAT for September, the 25th of
    # October, is a Sunday.
    assert deadline(ReminderKind.VAT, MONTHLY, p("2026-09")) == date(2026, 10, 26)


def test_easter_monday_is_not_a_working_day() -> None:
    # Easter 2026: Sunday 5 April, Monday 6 April. A documents day of 5 or 6 moves to the 7th.
    for day in (5, 6):
        profile = DeadlineProfile(documents_day=day)
        assert deadline(ReminderKind.DOCUMENTS, profile, p("2026-03")) == date(2026, 4, 7)


def test_christmas_and_the_weekend_after_it() -> None:
    # 24 (Christmas Eve, a holiday since 2025), 25, 26 December 2026 (Thu–Sat), then Sunday.
    for day in (24, 25, 26, 27):
        profile = DeadlineProfile(documents_day=day)
        assert deadline(ReminderKind.DOCUMENTS, profile, p("2026-11")) == date(2026, 12, 28)


def test_new_year_and_epiphany() -> None:
    assert next_working_day(date(2027, 1, 1)) == date(2027, 1, 4)  # Fri holiday, weekend
    assert next_working_day(date(2026, 1, 6)) == date(2026, 1, 7)  # Epiphany, a Tuesday


def test_vat_monthly_and_quarterly() -> None:
    assert deadline(ReminderKind.VAT, MONTHLY, p("2026-10")) == date(2026, 11, 25)
    assert deadline(ReminderKind.VAT, QUARTERLY, p("2026-Q3")) == date(2026, 10, 26)
    # A monthly payer has no quarterly deadline and the other way round.
    assert deadline(ReminderKind.VAT, MONTHLY, p("2026-Q3")) is None
    assert deadline(ReminderKind.VAT, QUARTERLY, p("2026-09")) is None


def test_income_tax_including_the_last_period_of_the_year() -> None:
    assert deadline(ReminderKind.INCOME_TAX, MONTHLY, p("2026-10")) == date(2026, 11, 20)
    assert deadline(ReminderKind.INCOME_TAX, QUARTERLY, p("2026-Q1")) == date(2026, 4, 20)
    # December and Q4 advances are still reminded, on 20 January.
    assert deadline(ReminderKind.INCOME_TAX, MONTHLY, p("2026-12")) == date(2027, 1, 20)
    assert deadline(ReminderKind.INCOME_TAX, QUARTERLY, p("2026-Q4")) == date(2027, 1, 20)


def test_zus_on_the_clients_day() -> None:
    assert deadline(ReminderKind.ZUS, DeadlineProfile(zus_day=15), p("2026-10")) == date(
        2026,
        11,
        16,  # the 15th is a Sunday
    )
    assert deadline(ReminderKind.ZUS, DeadlineProfile(zus_day=20), p("2026-10")) == date(
        2026, 11, 20
    )
    # ZUS and documents are monthly whatever the tax settlement.
    assert deadline(ReminderKind.ZUS, QUARTERLY, p("2026-Q3")) is None


def test_not_applicable_deadlines() -> None:
    exempt = DeadlineProfile(
        vat_period=TaxPeriod.NONE,
        income_tax_period=TaxPeriod.NONE,
        zus_day=None,
        documents_day=None,
    )
    for kind in ReminderKind:
        assert deadline(kind, exempt, p("2026-10")) is None
        assert deadline(kind, exempt, p("2026-Q3")) is None
        assert deadlines_between(kind, exempt, date(2026, 1, 1), date(2026, 12, 31)) == []


def test_deadlines_between_lists_each_period_once_in_order() -> None:
    found = deadlines_between(ReminderKind.VAT, QUARTERLY, date(2026, 1, 1), date(2026, 12, 31))
    assert [(str(period), due) for period, due in found] == [
        ("2025-Q4", date(2026, 1, 26)),
        ("2026-Q1", date(2026, 4, 27)),
        ("2026-Q2", date(2026, 7, 27)),
        ("2026-Q3", date(2026, 10, 26)),
    ]
    monthly = deadlines_between(ReminderKind.ZUS, MONTHLY, date(2026, 11, 16), date(2026, 12, 21))
    assert [(str(period), due) for period, due in monthly] == [
        ("2026-10", date(2026, 11, 20)),
        ("2026-11", date(2026, 12, 21)),  # the 20th is a Sunday
    ]


PL = holidays.country_holidays("PL", years=range(2024, 2032))
KINDS = st.sampled_from(list(ReminderKind))
PROFILES = st.builds(
    DeadlineProfile,
    vat_period=st.sampled_from([TaxPeriod.MONTHLY, TaxPeriod.QUARTERLY]),
    income_tax_period=st.sampled_from([TaxPeriod.MONTHLY, TaxPeriod.QUARTERLY]),
    zus_day=st.sampled_from([10, 15, 20]),
    documents_day=st.integers(1, 31),
)
PERIODS = st.one_of(
    st.builds(Period, st.integers(2024, 2030), month=st.integers(1, 12)),
    st.builds(Period, st.integers(2024, 2030), quarter=st.integers(1, 4)),
)


@given(kind=KINDS, profile=PROFILES, period=PERIODS)
def test_a_deadline_is_a_working_day_never_before_the_nominal_one(
    kind: ReminderKind, profile: DeadlineProfile, period: Period
) -> None:
    nominal = nominal_deadline(kind, profile, period)
    due = deadline(kind, profile, period)
    assert (nominal is None) == (due is None)
    if nominal is None or due is None:
        return
    assert due >= nominal
    assert due.weekday() < 5 and due not in PL
    # Moved to the FIRST working day: every day skipped was a weekend day or a holiday.
    day = nominal
    while day < due:
        assert day.weekday() >= 5 or day in PL
        day += timedelta(days=1)
    # The deadline is in the month after the period (or a few days into the next one).
    assert nominal.month == period.last_month % 12 + 1


@given(kind=KINDS, profile=PROFILES, start=st.dates(date(2025, 1, 1), date(2030, 12, 31)))
def test_deadlines_between_agrees_with_deadline(
    kind: ReminderKind, profile: DeadlineProfile, start: date
) -> None:
    end = start + timedelta(days=70)
    found = deadlines_between(kind, profile, start, end)
    for period, due in found:
        assert start <= due <= end
        assert deadline(kind, profile, period) == due
    assert len({str(period) for period, _ in found}) == len(found)
    # And none is missed: every month and quarter around the window, checked one by one.
    every = [
        Period(y, month=m) for y in range(start.year - 1, start.year + 2) for m in range(1, 13)
    ]
    every += [
        Period(y, quarter=q) for y in range(start.year - 1, start.year + 2) for q in range(1, 5)
    ]
    expected = {str(x) for x in every if (d := deadline(kind, profile, x)) and start <= d <= end}
    assert {str(period) for period, _ in found} == expected
    assert [due for _, due in found] == sorted(due for _, due in found)
