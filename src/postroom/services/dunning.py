"""The office's dunning ladder: the reminder before an invoice's due date and the escalating
notices after it, each with its own interval and text; the built-in ladder until one is set."""

# Replacing the ladder re-plans the pending notices of unpaid invoices (invoice_plan.py), so an
# office that moves a level by a week moves it for the invoices already registered too.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.db.models_channels import DunningLevel
from postroom.enums import Language
from postroom.errors import FieldProblem, NotFoundError, ValidationError
from postroom.services import invoice_plan, templates
from postroom.services.dunning_texts import DEFAULT_LEVELS
from postroom.services.guards import require_admin
from postroom.services.notice_message import (
    VARIABLES,
    LevelText,
    compile_level,
    sample_variables,
)
from postroom.services.office_sender import office_language
from postroom.services.template_render import TemplateRenderError, check_rows

MAX_LEVELS = 10
MAX_OFFSET_DAYS = 366  # a year either side of the due date
MAX_NAME_CHARS = 100
MAX_SUBJECT_CHARS = 500  # the column's size: the rendered subject is stored in the history
MAX_BODY_CHARS = 64 * 1024
_PART_FIELDS = {"subject": "subject", "text": "body", "html": "body"}


@dataclass(frozen=True)
class Level:
    position: int  # 1, 2, 3… in sending order
    offset_days: int  # relative to the due date: -3 = three days before
    name: str
    subject: str = ""
    body: str = ""
    template_id: int | None = None  # a company template instead of subject and body

    @property
    def text(self) -> LevelText:
        return LevelText(self.position, self.name, self.subject, self.body, self.template_id)


@dataclass(frozen=True)
class Ladder:
    levels: tuple[Level, ...]
    is_default: bool  # the office has not set its own: the built-in ladder applies

    def level(self, position: int) -> Level | None:
        return next((lvl for lvl in self.levels if lvl.position == position), None)


def default_ladder(language: Language) -> tuple[Level, ...]:
    return tuple(
        Level(n, d.offset_days, d.name, d.subject, d.body)
        for n, d in enumerate(DEFAULT_LEVELS[language], start=1)
    )


def get_ladder(session: Session) -> Ladder:
    rows = session.scalars(select(DunningLevel).order_by(DunningLevel.position)).all()
    if not rows:
        return Ladder(default_ladder(office_language(session)), is_default=True)
    levels = tuple(
        Level(r.position, r.offset_days, r.name, r.subject, r.body, r.template_id) for r in rows
    )
    return Ladder(levels, is_default=False)


def _order_problems(index: int, level: Level, previous: Level | None) -> list[FieldProblem]:
    where, number = f"levels.{index}", index + 1
    problems = []
    if level.position != number:
        problems.append(
            FieldProblem(
                f"{where}.position",
                f"Level {number}: its position is {level.position}, but positions must be "
                f"1, 2, 3… in the order the levels are given; give it position {number}.",
                "bad_position",
            )
        )
    if abs(level.offset_days) > MAX_OFFSET_DAYS:
        problems.append(
            FieldProblem(
                f"{where}.offset_days",
                f"Level {number}: the offset must be between -{MAX_OFFSET_DAYS} and "
                f"{MAX_OFFSET_DAYS} days from the due date.",
                "offset_out_of_range",
            )
        )
    if previous is not None and level.offset_days <= previous.offset_days:
        problems.append(
            FieldProblem(
                f"{where}.offset_days",
                f"Level {number} must be sent later than level {number - 1}: its offset "
                f"({level.offset_days} days) must be greater than {previous.offset_days}.",
                "offsets_not_increasing",
            )
        )
    return problems


def _line_problem(number: int, label: str, value: str, limit: int) -> str | None:
    if not value.strip():
        return f"Level {number}: the {label} is empty; write one."
    if len(value) > limit:
        return f"Level {number}: the {label} is longer than {limit} characters."
    if any(ord(ch) < 32 for ch in value):
        return f"Level {number}: the {label} must be one line without control characters."
    return None


def _template_problems(
    session: Session, where: str, number: int, level: Level
) -> list[FieldProblem]:
    field = f"{where}.template_id"
    if level.subject.strip() or level.body.strip():
        message = f"Level {number}: give either a template or a subject and body, not both."
        return [FieldProblem(field, message, "template_and_text")]
    try:
        template = templates.get_template(session, level.template_id or 0)
    except NotFoundError:
        message = f"Level {number}: template {level.template_id} does not exist."
        return [FieldProblem(field, message, "unknown_template")]
    if template.archived:
        message = f"Level {number}: template {template.name!r} is archived; restore it first."
        return [FieldProblem(field, message, "archived_template")]
    return []


def _own_text_problems(where: str, number: int, level: Level) -> list[FieldProblem]:
    problems = []
    subject = _line_problem(number, "subject", level.subject, MAX_SUBJECT_CHARS)
    if subject:
        problems.append(FieldProblem(f"{where}.subject", subject, "subject_invalid"))
    if not level.body.strip():
        message = f"Level {number}: the body is empty; write one or choose a template."
        problems.append(FieldProblem(f"{where}.body", message, "body_required"))
    elif len(level.body) > MAX_BODY_CHARS:
        message = f"Level {number}: the body is longer than {MAX_BODY_CHARS} characters."
        problems.append(FieldProblem(f"{where}.body", message, "body_too_long"))
    return problems


def _render_problems(
    session: Session, where: str, number: int, level: Level, language: Language
) -> list[FieldProblem]:
    """Compile the text and render it once with sample values: a syntax error or an unknown
    variable is found now, not on the day the notice is due."""

    def field_of(part: str | None) -> str:
        if level.template_id is not None:
            return f"{where}.template_id"
        return f"{where}.{_PART_FIELDS.get(part or '', 'body')}"

    try:
        compiled = compile_level(session, level.text, language=language)
    except TemplateRenderError as exc:
        return [FieldProblem(field_of(exc.part), f"Level {number}: {exc.message}", exc.reason)]
    rows = check_rows(compiled, [(number, sample_variables(level.text))])
    return [
        FieldProblem(
            field_of(p.part),
            f"Level {number}: {p.message}"
            + (f" Known variables: {', '.join(VARIABLES)}." if p.variable else ""),
            "undefined_variable" if p.variable else "template_error",
        )
        for p in rows
    ]


def _level_problems(
    session: Session, index: int, level: Level, language: Language
) -> list[FieldProblem]:
    where, number = f"levels.{index}", index + 1
    name = _line_problem(number, "name", level.name, MAX_NAME_CHARS)
    problems = [FieldProblem(f"{where}.name", name, "name_invalid")] if name else []
    if level.template_id is not None:
        text_problems = _template_problems(session, where, number, level)
    else:
        text_problems = _own_text_problems(where, number, level)
    if not text_problems:
        text_problems = _render_problems(session, where, number, level, language)
    return problems + text_problems


def check_ladder(session: Session, levels: Sequence[Level], language: Language) -> None:
    """Raise a ValidationError naming every item at fault (field `levels.<index>.<name>`)."""
    if not levels:
        raise ValidationError.for_field(
            "levels", "Give at least one level; the ladder cannot be empty.", "empty_ladder"
        )
    if len(levels) > MAX_LEVELS:
        raise ValidationError.for_field(
            "levels", f"A ladder has at most {MAX_LEVELS} levels.", "too_many_levels"
        )
    problems: list[FieldProblem] = []
    for index, level in enumerate(levels):
        previous = levels[index - 1] if index else None
        problems += _order_problems(index, level, previous)
        problems += _level_problems(session, index, level, language)
    if problems:
        raise ValidationError(problems[0].message, problems)


def replace_ladder(
    session: Session, *, actor: User, levels: Sequence[Level], today: date
) -> Ladder:
    """Replace the whole ladder (administrators only) and re-plan unpaid invoices' pending
    notices by it. Nothing is written when any level is invalid."""
    require_admin(actor, "change the dunning ladder")
    check_ladder(session, levels, office_language(session))
    session.execute(delete(DunningLevel))
    session.add_all(
        DunningLevel(
            position=lvl.position,
            offset_days=lvl.offset_days,
            name=lvl.name.strip(),
            template_id=lvl.template_id,
            subject=lvl.subject if lvl.template_id is None else "",
            body=lvl.body if lvl.template_id is None else "",
        )
        for lvl in levels
    )
    session.flush()
    ladder = get_ladder(session)
    invoice_plan.replan_unpaid(session, ladder.levels, today=today)
    return ladder
