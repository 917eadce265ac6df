"""How an SMS text is encoded and how many parts it costs (3GPP TS 23.038, 23.040).

A text made only of the GSM 7-bit default alphabet (plus its extension table, each
extension character taking two septets: ESC and the character) is sent as GSM-7: 160
septets in one SMS, 153 per part once split, because the concatenation header (UDH, TS
23.040 §9.2.3.24.1) takes 6 of the 140 octets. Any other character switches the whole text
to UCS-2: 70 UTF-16 code units in one SMS, 67 per part; a character outside the BMP is a
surrogate pair and takes two. No Polish letter with a diacritic (ó included) is in the GSM
alphabet, so one "ą" makes the SMS UCS-2 and roughly halves what fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# TS 23.038 §6.2.1, the default alphabet, in code order (0x1B, the escape, left out: it is
# not a character a text can hold, only the prefix of the extension table).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# TS 23.038 §6.2.1.1, the extension table: each costs ESC + the character = 2 septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE = 160
GSM7_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67

POLISH_TRANSLITERATION = str.maketrans(
    "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ",
    "acelnoszzACELNOSZZ",
)


class SmsEncoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class SegmentCount:
    """What a text costs: its encoding, the parts it is sent in, and its size in the units of
    that encoding (septets for GSM-7, UTF-16 code units for UCS-2)."""

    encoding: SmsEncoding
    segments: int
    characters: int
    units: int
    units_per_segment: int  # of this text: the single-SMS limit, or the per-part one


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _gsm7_costs(text: str) -> list[int]:
    return [2 if ch in GSM7_EXTENSION else 1 for ch in text]


def _ucs2_costs(text: str) -> list[int]:
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _parts(costs: list[int], part_size: int) -> int:
    """Parts needed when no character may straddle two parts: an ESC pair or a surrogate pair
    is kept whole (phones would show garbage otherwise), so a part may end one unit short."""
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part_size:
            parts += 1
            used = 0
        used += cost
    return parts


def count_segments(text: str) -> SegmentCount:
    """The encoding and the number of SMS parts `text` needs (an empty text: one SMS)."""
    if is_gsm7(text):
        encoding, costs, single, part = SmsEncoding.GSM7, _gsm7_costs(text), GSM7_SINGLE, GSM7_PART
    else:
        encoding, costs, single, part = SmsEncoding.UCS2, _ucs2_costs(text), UCS2_SINGLE, UCS2_PART
    units = sum(costs)
    if units <= single:
        return SegmentCount(encoding, 1, len(text), units, single)
    return SegmentCount(encoding, _parts(costs, part), len(text), units, part)


def transliterate_polish(text: str) -> str:
    """Polish letters without their diacritics (ą→a, ł→l, ż→z…): the same text as GSM-7 when
    nothing else in it needs UCS-2, usually half the parts."""
    return text.translate(POLISH_TRANSLITERATION)


def has_polish_letters(text: str) -> bool:
    return text != transliterate_polish(text)
