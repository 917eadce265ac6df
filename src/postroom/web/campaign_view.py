"""Words and shapes for the campaign pages: statuses, kinds, the survey questions' text form,
the schedule's local time, the progress figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from postroom.enums import CampaignKind, CampaignRecipientStatus, CampaignStatus, QuestionKind
from postroom.errors import FieldProblem
from postroom.services.campaign_progress import Progress
from postroom.services.campaign_schemas import QuestionIn
from postroom.web.i18n import N_, Translator

R = CampaignRecipientStatus
CAMPAIGN_STATUSES = {
    CampaignStatus.DRAFT.value: N_("Draft"),
    CampaignStatus.SCHEDULED.value: N_("Scheduled"),
    CampaignStatus.RUNNING.value: N_("Sending"),
    CampaignStatus.PAUSED.value: N_("Paused"),
    CampaignStatus.COMPLETED.value: N_("Completed"),
    CampaignStatus.CANCELLED.value: N_("Cancelled"),
}
CAMPAIGN_KINDS = {
    CampaignKind.DOCUMENTS.value: N_("Documents (one per recipient)"),
    CampaignKind.NEWSLETTER.value: N_("Newsletter"),
    CampaignKind.SURVEY.value: N_("Survey"),
}
ROW_STATUSES = {
    R.PENDING.value: N_("Waiting"),
    R.QUEUED.value: N_("Queued"),
    R.SENT.value: N_("Sent"),
    R.FAILED.value: N_("Failed"),
    R.BOUNCED.value: N_("Bounced"),
    R.OPTED_OUT.value: N_("Unsubscribed"),
    R.INVALID.value: N_("Invalid"),
    R.CANCELLED.value: N_("Cancelled"),
}
TONES = {
    CampaignStatus.DRAFT.value: "wait",
    CampaignStatus.SCHEDULED.value: "wait",
    CampaignStatus.RUNNING.value: "wait",
    CampaignStatus.PAUSED.value: "warn",
    CampaignStatus.COMPLETED.value: "ok",
    CampaignStatus.CANCELLED.value: "bad",
    R.PENDING.value: "wait",
    R.QUEUED.value: "wait",
    R.SENT.value: "ok",
    R.FAILED.value: "bad",
    R.BOUNCED.value: "bad",
    R.OPTED_OUT.value: "warn",
    R.INVALID.value: "bad",
    R.CANCELLED.value: "warn",
}
WIZARD_STEPS = (
    ("template", N_("Template")),
    ("recipients", N_("Recipients")),
    ("sender", N_("Sender")),
    ("schedule", N_("Schedule")),
    ("confirm", N_("Confirm")),
)
QUESTION_PREFIXES = {
    "single": QuestionKind.SINGLE,
    "multiple": QuestionKind.MULTIPLE,
    "text": QuestionKind.TEXT,
}
QUESTIONS_FIELD = "questions"


@dataclass(frozen=True)
class ProgressView:
    """The figures the progress block shows."""

    counts: dict[str, int]
    total: int
    done: int
    rate: float
    eta_minutes: int | None
    active: bool


def progress_view(progress: Progress) -> ProgressView:
    active = progress.status in (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED)
    eta = None if progress.eta_seconds is None else max(1, round(progress.eta_seconds / 60))
    return ProgressView(
        progress.counts, progress.total, progress.done, progress.rate_per_minute, eta, active
    )


def parse_questions(text: str) -> tuple[list[QuestionIn], list[FieldProblem]]:
    """Questions written one a line: "single: Question? | option | option", "multiple: …",
    "text: Question?"; a "*" after the kind makes it required ("single*: …")."""
    questions, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        head, _, rest = line.partition(":")
        required = head.strip().endswith("*")
        kind = QUESTION_PREFIXES.get(head.strip().rstrip("*").strip().lower())
        parts = [p.strip() for p in rest.split("|")]
        if kind is None or not parts[0]:
            problems.append(FieldProblem(QUESTIONS_FIELD, f"line {number}", "question_format"))
            continue
        try:
            questions.append(
                QuestionIn(kind=kind, text=parts[0], options=parts[1:], required=required)
            )
        except ValueError:
            problems.append(FieldProblem(QUESTIONS_FIELD, f"line {number}", "question_options"))
    return questions, problems


QUESTION_PROBLEMS = {
    "question_format": N_(
        "Line {line}: start with “single:”, “multiple:” or “text:” and then the question."
    ),
    "question_options": N_(
        "Line {line}: a choice question needs at least two different options after “|”; a "
        "text question has none."
    ),
}


def question_messages(problems: list[FieldProblem], translate: Translator) -> list[str]:
    return [
        translate(QUESTION_PROBLEMS[p.code], line=p.message.removeprefix("line ")) for p in problems
    ]


def local_input_value(when: datetime | None, zone: str) -> str:
    """The value of a datetime-local field: the time as the office's clock shows it."""
    if when is None:
        return ""
    return when.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def parse_local(value: str, zone: str) -> datetime | None:
    """A datetime-local field's value, read in the office's time zone; None if not a time."""
    try:
        naive = datetime.strptime(value.strip(), "%Y-%m-%dT%H:%M")
    except ValueError:
        return None
    return naive.replace(tzinfo=ZoneInfo(zone))


ROW_PROBLEMS = {
    "required": N_("The row has no e-mail address."),
    "invalid_address": N_("“{email}” is not a valid e-mail address."),
    "unknown_file": N_("An attachment is not a file you may attach: upload it first."),
    "file_missing": N_("The content of an attached file is missing; upload it again."),
    "invalid_attachment": N_("The attachments column must hold file ids, like 12; 15."),
    "missing_variable": N_("The template uses “{variable}”, which this row does not have."),
    "template_error": N_("The template cannot be filled in with this row's data."),
    "duplicate_address": N_("This address is already in an earlier row."),
    "unsubscribed": N_("This address unsubscribed from the company's newsletters."),
}
LINE_SUFFIX = N_("(template line {line})")


@dataclass(frozen=True)
class ProblemRow:
    row_number: int
    email: str
    status: str
    texts: list[str]


def problem_text(item: dict[str, object], email: str, translate: Translator) -> str:
    """A row problem in the visitor's language; one the page does not know, as the service
    said it."""
    template = ROW_PROBLEMS.get(str(item.get("code", "")))
    if template is None:
        return str(item.get("message", ""))
    variable = str(item.get("field", "")).removeprefix("variables.")
    text = translate(template, email=email, variable=variable)
    line = item.get("line")
    return f"{text} {translate(LINE_SUFFIX, line=line)}" if line else text


def problem_rows(
    rows: list[tuple[int, str, str, list[dict[str, object]]]], translate: Translator
) -> list[ProblemRow]:
    return [
        ProblemRow(number, email, status, [problem_text(p, email, translate) for p in problems])
        for number, email, status, problems in rows
    ]


WIZARD_PROBLEMS = {
    "unknown_template": N_("Choose a template."),
    "questions_required": N_("A survey needs at least one question."),
    "template_error": N_("The template has an error; correct it in the template editor:"),
}


def wizard_errors(problems: list[FieldProblem], translate: Translator) -> dict[str, list[str]]:
    """The service's refusals on the first step's fields, in the visitor's language."""
    fields = {"template_version_id": "template_id", "questions": "questions"}
    errors: dict[str, list[str]] = {}
    for item in problems:
        field = fields.get(item.field, "template_id" if item.code == "template_error" else "name")
        template = WIZARD_PROBLEMS.get(item.code)
        if template is None:
            message = item.message
        elif item.code == "template_error":
            message = f"{translate(template)} {item.message}"
        else:
            message = translate(template)
        errors.setdefault(field, []).append(message)
    return errors
