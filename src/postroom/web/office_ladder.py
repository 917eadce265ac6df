"""The dunning ladder's form: one row per level (offset, name, subject, body) and a blank row
to add one; rows ticked "remove" or left blank are dropped, the rest numbered in order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from postroom.errors import ValidationError
from postroom.services.dunning import Ladder, Level

BLANK_ROWS = 1


@dataclass(frozen=True)
class LevelRow:
    index: int
    offset_days: int | str
    name: str
    subject: str
    body: str
    template_id: int | None


def ladder_rows(ladder: Ladder) -> list[LevelRow]:
    rows = [
        LevelRow(i, lvl.offset_days, lvl.name, lvl.subject, lvl.body, lvl.template_id)
        for i, lvl in enumerate(ladder.levels)
    ]
    start = len(rows)
    rows += [LevelRow(start + n, "", "", "", "", None) for n in range(BLANK_ROWS)]
    return rows


def _field(form: Any, index: int, name: str) -> str:
    return str(form.get(f"level_{index}_{name}") or "")


def _offset(raw: str, number: int) -> int:
    text = raw.strip()
    if not text.lstrip("-").isdigit():
        raise ValidationError.for_field(
            f"levels.{number - 1}.offset_days",
            f"Level {number}: the offset is a whole number of days from the due date, e.g. -3 "
            "(three days before) or 7 (a week after).",
            "invalid_offset",
        )
    return int(text)


def ladder_from_form(form: Any) -> list[Level]:
    count_text = str(form.get("level_count") or "0")
    count = min(int(count_text), 50) if count_text.isdigit() else 0
    levels: list[Level] = []
    for index in range(count):
        if form.get(f"level_{index}_remove") == "on":
            continue
        name, subject, body = (_field(form, index, n) for n in ("name", "subject", "body"))
        template = _field(form, index, "template_id")
        offset_raw = _field(form, index, "offset_days")
        if not (name.strip() or subject.strip() or body.strip() or template or offset_raw):
            continue  # the blank row left blank
        number = len(levels) + 1
        levels.append(
            Level(
                position=number,
                offset_days=_offset(offset_raw, number),
                name=name,
                subject=subject,
                body=body,
                template_id=int(template) if template.isdigit() else None,
            )
        )
    return levels
