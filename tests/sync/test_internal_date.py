"""INTERNALDATE's fast reading agrees with the email package's, form for form."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from postroom.mail.imap_responses import parse_internal_date

MONTHS = ["Jan", "feb", "MAR", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Foo"]


def _by_the_email_package(text: str) -> datetime | None:
    try:
        date_part, time_part, zone = text.split()
        day, month, year = date_part.split("-")
        if month.upper() not in {name.upper() for name in MONTHS[:12]}:  # "Foo" is no month
            return None
        return parsedate_to_datetime(f"{int(day)} {month.title()} {year} {time_part} {zone}")
    except (ValueError, IndexError, TypeError):
        return None


@settings(max_examples=3000)
@given(
    day=st.integers(0, 40),
    month=st.sampled_from(MONTHS),
    year=st.integers(1, 9999),
    hour=st.integers(0, 30),
    minute=st.integers(0, 70),
    second=st.integers(0, 70),
    sign=st.sampled_from("+-"),
    zone=st.integers(0, 2400),
    padded=st.booleans(),
)
def test_fast_reading_matches_the_email_package(
    day: int,
    month: str,
    year: int,
    hour: int,
    minute: int,
    second: int,
    sign: str,
    zone: int,
    padded: bool,
) -> None:
    day_text = f"{day:2d}" if padded else f"{day:02d}"
    text = f"{day_text}-{month}-{year:04d} {hour:02d}:{minute:02d}:{second:02d} {sign}{zone:04d}"
    expected, found = _by_the_email_package(text), parse_internal_date(text)
    assert found == expected
    if found is not None and expected is not None:
        assert found.utcoffset() == expected.utcoffset()


def test_common_forms() -> None:
    found = parse_internal_date("17-Jul-1996 02:44:25 -0700")
    assert found is not None and found.isoformat() == "1996-07-17T02:44:25-07:00"
    assert parse_internal_date(" 2-Jan-2024 07:00:21 +0000") == parse_internal_date(
        "02-Jan-2024 07:00:21 +0000"
    )
    assert parse_internal_date("garbage") is None
