"""Phone numbers to E.164 (ITU-T E.164: "+", country code, subscriber number, ≤ 15 digits)."""

from __future__ import annotations

import re

DEFAULT_COUNTRY_CODE = "48"  # Poland: a bare 9-digit number is Polish
_POLISH_NATIONAL_DIGITS = 9
_SEPARATORS = re.compile(r"[\s().\-/]")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")


class PhoneNumberError(ValueError):
    """Not a phone number an SMS can be sent to; the message says what is wrong."""


def to_e164(raw: str) -> str:
    """+48600100200 from "600 100 200", "0048 600-100-200", "(+48) 600100200"…

    A number without a country code is taken as Polish when it has Poland's 9 national
    digits; any other length needs its country code, since guessing would text a stranger.
    """
    number = _SEPARATORS.sub("", raw.strip())
    if number.startswith("00"):
        number = "+" + number[2:]
    if not number.startswith("+"):
        if not number.isdigit():
            raise PhoneNumberError("A phone number may hold only digits, spaces, -, (, ) and +.")
        if len(number) == _POLISH_NATIONAL_DIGITS:
            number = f"+{DEFAULT_COUNTRY_CODE}{number}"
        elif len(number) == _POLISH_NATIONAL_DIGITS + 2 and number.startswith(DEFAULT_COUNTRY_CODE):
            number = "+" + number
        else:
            raise PhoneNumberError("Give the number with its country code, e.g. +48 600 100 200.")
    if not _E164.match(number):
        raise PhoneNumberError(
            "Not a valid phone number: after + come the country code and the number, "
            "8 to 15 digits in all, e.g. +48 600 100 200."
        )
    return number
