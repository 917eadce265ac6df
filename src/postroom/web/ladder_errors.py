"""The dunning ladder's refusals in the visitor's language.

The service (services/dunning.py) names every problem of a ladder by field
(`levels.<index>.<name>`) and a stable code, with an English sentence for the API. Here each
known code gets its sentence in the page's language, the level number read from the field;
problems found in a level's text by the template engine keep the engine's own words (which
name the variable or the line) after a translated lead.
"""

from __future__ import annotations

import re

from postroom.errors import FieldProblem, ValidationError
from postroom.services.dunning import (
    MAX_BODY_CHARS,
    MAX_LEVELS,
    MAX_NAME_CHARS,
    MAX_OFFSET_DAYS,
    MAX_SUBJECT_CHARS,
)
from postroom.web.i18n import N_, Translator

_LEVEL_FIELD = re.compile(r"^levels\.(\d+)\.")
_LEVEL_LEAD = re.compile(r"^Level \d+:\s*")
_LIMITS = {
    "max_offset": MAX_OFFSET_DAYS,
    "max_name": MAX_NAME_CHARS,
    "max_subject": MAX_SUBJECT_CHARS,
    "max_body": MAX_BODY_CHARS,
    "max_levels": MAX_LEVELS,
}
LADDER_TEXTS = {
    "bad_position": N_("Level {level}: levels are numbered 1, 2, 3… in the order they are given."),
    "offset_out_of_range": N_(
        "Level {level}: the offset must be between -{max_offset} and {max_offset} days from "
        "the due date."
    ),
    "offsets_not_increasing": N_(
        "Level {level} must be sent later than level {previous}: give it a greater offset."
    ),
    "invalid_offset": N_(
        "Level {level}: the offset is a whole number of days from the due date, e.g. -3 (three "
        "days before) or 7 (a week after)."
    ),
    "name_invalid": N_("Level {level}: the name must be one line of 1 to {max_name} characters."),
    "subject_invalid": N_(
        "Level {level}: the subject must be one line of 1 to {max_subject} characters."
    ),
    "body_required": N_("Level {level}: the body is empty; write one or choose a template."),
    "body_too_long": N_("Level {level}: the body is longer than {max_body} characters."),
    "template_and_text": N_(
        "Level {level}: give either a template or a subject and body, not both."
    ),
    "unknown_template": N_("Level {level}: the chosen template does not exist."),
    "archived_template": N_("Level {level}: the chosen template is archived; restore it first."),
    "empty_ladder": N_("Give at least one level; the ladder cannot be empty."),
    "too_many_levels": N_("A ladder has at most {max_levels} levels."),
}
TEXT_PROBLEM = N_("Level {level}: the text cannot be used: {detail}")


def _problem_text(problem: FieldProblem, translate: Translator) -> str:
    found = _LEVEL_FIELD.match(problem.field)
    level = int(found.group(1)) + 1 if found else 0
    known = LADDER_TEXTS.get(problem.code)
    if known is not None:
        return translate(known, level=level, previous=level - 1, **_LIMITS)
    if found is None:
        return problem.message
    detail = _LEVEL_LEAD.sub("", problem.message)  # the template engine's words
    return translate(TEXT_PROBLEM, level=level, detail=detail)


def ladder_error_text(exc: ValidationError, translate: Translator) -> str:
    """Every problem of the ladder, each once, in the visitor's language."""
    problems = exc.problems or [FieldProblem("levels", exc.message, exc.code)]
    texts = dict.fromkeys(_problem_text(problem, translate) for problem in problems)
    return " ".join(texts)
