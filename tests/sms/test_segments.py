"""GSM-7 / UCS-2 detection and SMS part counting (3GPP TS 23.038, 23.040), and E.164 numbers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postroom.notify.sms.numbers import PhoneNumberError, to_e164
from postroom.notify.sms.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SmsEncoding,
    count_segments,
    has_polish_letters,
    transliterate_polish,
)

POLISH = "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"
basic_text = st.text(alphabet=sorted(GSM7_BASIC), max_size=700)
gsm_text = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=700)
any_text = st.text(max_size=700)


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "units"),
    [
        ("", SmsEncoding.GSM7, 1, 0),
        ("a" * 160, SmsEncoding.GSM7, 1, 160),
        ("a" * 161, SmsEncoding.GSM7, 2, 161),
        ("a" * 306, SmsEncoding.GSM7, 2, 306),
        ("a" * 307, SmsEncoding.GSM7, 3, 307),
        ("€" * 80, SmsEncoding.GSM7, 1, 160),  # extension characters: 2 septets each
        ("€" * 81, SmsEncoding.GSM7, 2, 162),
        ("a" * 152 + "[" + "a" * 10, SmsEncoding.GSM7, 2, 164),  # "[" may not straddle
        ("Zażółć gęślą jaźń", SmsEncoding.UCS2, 1, 17),
        ("ą" * 70, SmsEncoding.UCS2, 1, 70),
        ("ą" * 71, SmsEncoding.UCS2, 2, 71),
        ("ą" * 134, SmsEncoding.UCS2, 2, 134),
        ("ą" * 135, SmsEncoding.UCS2, 3, 135),
        ("😀" * 35, SmsEncoding.UCS2, 1, 70),  # outside the BMP: a surrogate pair, 2 units
        ("😀" * 36, SmsEncoding.UCS2, 2, 72),  # 33 pairs per part: a pair is never split
        ("Faktura nr 12/2026 ó", SmsEncoding.UCS2, 1, 20),  # ó is not GSM (ò is)
        ("Płatność do 20.11", SmsEncoding.UCS2, 1, 17),
        ("Termin VAT: 25.11, kwota 1 234,00 zł", SmsEncoding.UCS2, 1, 36),
        ("Termin VAT: 25.11, kwota 1 234,00 PLN", SmsEncoding.GSM7, 1, 37),
    ],
)
def test_known_texts(text: str, encoding: SmsEncoding, segments: int, units: int) -> None:
    count = count_segments(text)
    assert (count.encoding, count.segments, count.units) == (encoding, segments, units)
    assert count.characters == len(text)


@given(basic_text)
def test_basic_gsm_text_fits_160_then_153_per_part(text: str) -> None:
    count = count_segments(text)
    assert count.encoding is SmsEncoding.GSM7
    assert count.units == len(text)
    expected = 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    assert count.segments == expected


@given(gsm_text)
def test_extension_characters_cost_two_septets(text: str) -> None:
    count = count_segments(text)
    extended = sum(ch in GSM7_EXTENSION for ch in text)
    assert count.encoding is SmsEncoding.GSM7
    assert count.units == len(text) + extended


@given(any_text)
def test_parts_are_never_overfull_and_never_wasted(text: str) -> None:
    count = count_segments(text)
    single = 160 if count.encoding is SmsEncoding.GSM7 else 70
    part = 153 if count.encoding is SmsEncoding.GSM7 else 67
    if count.units <= single:
        assert count.segments == 1
    else:
        # A two-unit character is never split, so a part may end one unit short, no more.
        assert (
            math.ceil(count.units / part) <= count.segments <= math.ceil(count.units / (part - 1))
        )


@given(any_text)
def test_ucs2_counts_utf16_code_units(text: str) -> None:
    count = count_segments(text)
    if count.encoding is SmsEncoding.UCS2:
        assert count.units == len(text.encode("utf-16-le")) // 2


@given(basic_text, st.sampled_from(POLISH), st.integers(min_value=0))
def test_one_polish_letter_makes_it_ucs2(text: str, letter: str, where: int) -> None:
    position = where % (len(text) + 1)
    with_letter = text[:position] + letter + text[position:]
    assert count_segments(with_letter).encoding is SmsEncoding.UCS2
    assert has_polish_letters(with_letter)


@given(st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION) + list(POLISH), max_size=700))
def test_transliteration_gives_gsm7_and_never_costs_more(text: str) -> None:
    plain = transliterate_polish(text)
    assert len(plain) == len(text)
    assert count_segments(plain).encoding is SmsEncoding.GSM7
    assert count_segments(plain).segments <= count_segments(text).segments
    assert not has_polish_letters(plain)


def test_transliteration_maps_each_polish_letter() -> None:
    assert transliterate_polish("Zażółć gęślą jaźń ŁÓDŹ") == "Zazolc gesla jazn LODZ"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("600 100 200", "+48600100200"),
        ("600-100-200", "+48600100200"),
        ("+48 600 100 200", "+48600100200"),
        ("0048600100200", "+48600100200"),
        ("48600100200", "+48600100200"),
        ("(+48) 600.100.200", "+48600100200"),
        ("+44 7700 900123", "+447700900123"),
        ("+1 (415) 555-0100", "+14155550100"),
    ],
)
def test_numbers_become_e164(raw: str, expected: str) -> None:
    assert to_e164(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "600 100", "7700 900123", "+0 600100200", "+48 600 abc 200", "12345678901234567"]
)
def test_bad_numbers_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(PhoneNumberError) as caught:
        to_e164(raw)
    assert str(caught.value)
