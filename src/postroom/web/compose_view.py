"""What the compose page shows: the From picker, projects, attachments, errors and refusals."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.models import User
from postroom.errors import (
    FieldProblem,
    NotFoundError,
    RefusalReason,
    SendingRefusedError,
    ValidationError,
)
from postroom.services import files, projects, relay, routing
from postroom.services.companies import get_company
from postroom.web.compose_form import RECIPIENT_FIELDS, SENDER_FIELD, sender_value
from postroom.web.fields import FORM_LEVEL
from postroom.web.i18n import N_, Translator
from postroom.web.sending_labels import human_size
from postroom.web.views import Choice

Errors = dict[str, list[str]]
_MAX_PROJECTS = 1000

SENDER_KINDS = {
    routing.SenderRule.PERSONAL.value: N_("your own"),
    routing.SenderRule.PROJECT.value: N_("company, this project"),
    routing.SenderRule.COMPANY.value: N_("company"),
    routing.SenderRule.SHARED.value: N_("shared with you"),
    routing.SenderRule.RELAY.value: N_("platform relay"),
}
NOT_SENT = N_("The message was not sent.")
# Each refusal in the visitor's language, with what lifts it (the service's own sentence is
# English; these say the same with the numbers the page knows).
REFUSALS = {
    RefusalReason.EMAIL_OFF: N_(
        "E-mail is off for your company: nothing can be sent until a company administrator "
        "turns it on, choosing the platform relay or the company's own mail servers."
    ),
    RefusalReason.NO_SENDER_AVAILABLE: N_(
        "There is no account you may send from here, and your company does not use the "
        "platform relay. Connect your own mailbox, or ask an administrator for access to a "
        "company account (one bound to no project serves everywhere)."
    ),
    RefusalReason.ACCOUNT_NOT_USABLE: N_(
        "You may see this account but not send from it: it is a colleague's account that is "
        "not shared with you. Ask its owner or an administrator to share it, or choose "
        "another sender."
    ),
    RefusalReason.ACCOUNT_NOT_IN_PROJECT: N_(
        "This account is bound to other projects and is offered only inside them. Choose one "
        "of its projects, or choose another sender."
    ),
    RefusalReason.ACCOUNT_INACTIVE: N_(
        "This account is inactive, so nothing is sent from it. Its owner or an administrator "
        "can set it active again; or choose another sender."
    ),
    RefusalReason.RELAY_NOT_ALLOWED: N_(
        "Your company sends through its own mail servers, never through the platform relay. "
        "Choose one of your accounts, or ask an administrator to switch the company to the "
        "platform relay."
    ),
    RefusalReason.RELAY_NOT_CONFIGURED: N_(
        "This installation has no platform relay, so mail can go only from a connected "
        "mailbox. Connect your own mailbox (SMTP), or ask an administrator for access to a "
        "company account."
    ),
    RefusalReason.RELAY_LIMIT_REACHED: N_(
        "Your company has used its limit of {limit} documents through the platform relay. "
        "Connect your own mailbox (SMTP) to send documents without a limit, or ask the "
        "platform operator to raise the company's limit. Plain messages can still be sent."
    ),
    RefusalReason.RELAY_REQUIRES_VERIFICATION: N_(
        "Your company is not verified, so HR documents and documents made from its own "
        "templates cannot go through the platform relay. Ask the platform to verify the "
        "company, or connect your own mailbox (SMTP): from your own server every kind of "
        "document may be sent, without a limit."
    ),
}
PROBLEMS = {
    "invalid_address": N_("“{value}” is not a valid e-mail address."),
    "required": N_("Give at least one recipient (To, Cc or Bcc)."),
    "forbidden_character": N_("Line breaks and control characters are not allowed."),
    "too_long": N_("This is too long."),
    "too_many_recipients": N_("Too many recipients: send the message in several parts."),
    "too_large": N_("The file is larger than an attachment may be ({limit})."),
    "message_too_large": N_("The attachments together are too large to send ({limit})."),
    "unknown_file": N_("An attached file no longer exists; attach it again."),
    "file_missing": N_("An attached file no longer exists; attach it again."),
    "unknown_project": N_("This project does not exist in the company."),
    "unknown_account": N_("You may not send from this account; choose another sender."),
    "account_not_usable": N_("You may not send from this account; choose another sender."),
}
# Where each of the service's fields is shown on the form.
_FORM_FIELDS = {
    "from": SENDER_FIELD,
    "account_id": SENDER_FIELD,
    "use_relay": SENDER_FIELD,
    "html": "text",
    "file": "attachments",
}


@dataclass(frozen=True)
class SenderItem:
    """One option of the From picker, as routing.list_senders returned it."""

    value: str
    address: str
    display_name: str
    kind: str  # the rule: personal, project, company, shared, relay
    default: bool
    needs_attention: bool
    relay_left: int | None = None  # documents the company may still send through the relay
    relay_limit: int | None = None


@dataclass(frozen=True)
class Notice:
    title: str
    text: str
    code: str


@dataclass(frozen=True)
class AttachmentItem:
    file_id: int
    filename: str
    size: str
    missing: bool = False


def sender_items(
    session: Session, actor: User, project_id: int | None, settings: Settings
) -> list[SenderItem]:
    """The picker's options; raises SendingRefusedError when e-mail is off."""
    options = routing.list_senders(session, actor=actor, project_id=project_id, settings=settings)
    items = []
    for option in options:
        left = limit = None
        if option.kind is routing.SenderKind.RELAY:
            quota = relay.relay_quota(session, get_company(session, actor.company_id), settings)
            left, limit = quota.remaining, quota.limit
        items.append(
            SenderItem(
                value=sender_value(option.account_id, option.account_id is None),
                address=option.address,
                display_name=option.display_name,
                kind=option.rule.value,
                default=option.default,
                needs_attention=option.needs_attention,
                relay_left=left,
                relay_limit=limit,
            )
        )
    return items


def selected_sender(items: list[SenderItem], wanted: str) -> str:
    """The option to show selected: the one asked for if offered, else the rules' first choice;
    "" when the rules take none by themselves (only colleagues' shared accounts): the user
    picks one, as the rules never send from those unasked."""
    if wanted in {item.value for item in items}:
        return wanted
    return next((item.value for item in items if item.default), "")


def project_choices(session: Session) -> list[Choice]:
    rows, _ = projects.list_projects(session, limit=_MAX_PROJECTS)
    return [Choice(str(p.id), p.name) for p in rows]


def attachment_items(
    session: Session, actor: User, ids: list[int], language: str
) -> list[AttachmentItem]:
    items = []
    for file_id in ids:
        try:
            row = files.get_file(session, actor=actor, file_id=file_id)
        except NotFoundError:
            items.append(AttachmentItem(file_id, f"#{file_id}", "", missing=True))
            continue
        items.append(AttachmentItem(row.id, row.filename, human_size(row.size, language)))
    return items


def refusal_notice(
    exc: SendingRefusedError, translate: Translator, relay_limit: int | None
) -> Notice:
    template = REFUSALS.get(exc.reason)
    text = translate(template, limit=relay_limit or 0) if template else exc.message
    return Notice(translate(NOT_SENT), text, exc.code)


def _typed(problem: FieldProblem, pieces: dict[str, list[str]]) -> str:
    """What the user typed at the problem's position (`to[2]` → the third address in To)."""
    name, _, rest = problem.field.partition("[")
    index = rest.split("]")[0]
    if name in pieces and index.isdigit() and int(index) < len(pieces[name]):
        return pieces[name][int(index)]
    return ""


def _form_field(field: str) -> str:
    name = field.partition("[")[0].partition(".")[0]
    if name in RECIPIENT_FIELDS or name in ("subject", "text", "project_id", "document_kind"):
        return name
    if name.startswith(("attachments", "files")):
        return "attachments"
    return _FORM_FIELDS.get(name, FORM_LEVEL)


def problem_errors(
    exc: ValidationError,
    translate: Translator,
    pieces: dict[str, list[str]],
    settings: Settings,
) -> Errors:
    """The service's problems next to the form's fields, in the visitor's language."""
    limits = {
        "too_large": human_size(settings.max_attachment_bytes, translate.language.value),
        "message_too_large": human_size(settings.max_message_bytes, translate.language.value),
    }
    errors: Errors = {}
    for problem in exc.problems or [FieldProblem(FORM_LEVEL, exc.message, exc.code)]:
        template = PROBLEMS.get(problem.code)
        if problem.code == "required" and not problem.field.startswith("to"):
            template = None  # a file without a name, not a missing recipient
        message = (
            translate(template, value=_typed(problem, pieces), limit=limits.get(problem.code, ""))
            if template
            else problem.message
        )
        errors.setdefault(_form_field(problem.field), []).append(message)
    return errors
