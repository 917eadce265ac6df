"""Checking a batch of campaign rows before anything is sent: address, attachments, template
variables, duplicates and unsubscribed addresses, each problem with its row number."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postroom.addresses import InvalidAddressError, ascii_address, normalize_address
from postroom.config import Settings
from postroom.db.models import User
from postroom.db.models_campaigns import CampaignRecipient, Unsubscribe
from postroom.db.models_outbox import StoredFile
from postroom.enums import CampaignKind, CampaignRecipientStatus
from postroom.services import files, template_render
from postroom.services.campaign_rows import RowInput
from postroom.storage.files import StoredBlobMissingError

# Filled in per recipient when the message is made; a template may always use them.
BUILTIN_VARIABLES = ("email", "name", "survey_link", "unsubscribe_url")
_PLACEHOLDER_URL = "https://postroom.invalid/x"
# Campaigns whose recipients can leave (List-Unsubscribe): they honour unsubscribes (RFC 8058).
BULK_KINDS = (CampaignKind.NEWSLETTER, CampaignKind.SURVEY)


@dataclass(frozen=True)
class CheckedRow:
    """A row ready to store: its normalised address, status and problems (JSON-ready)."""

    row: RowInput
    email: str
    status: CampaignRecipientStatus
    problems: list[dict[str, Any]]


@dataclass(frozen=True)
class RowChecks:
    """What every batch of one campaign is checked against."""

    campaign_id: int
    kind: CampaignKind
    actor: User
    compiled: template_render.CompiledTemplate
    settings: Settings


def problem(field: str, message: str, code: str, line: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"field": field, "code": code, "message": message}
    if line is not None:
        found["line"] = line
    return found


def template_variables(row: RowInput, email: str) -> dict[str, Any]:
    """The variables a row's template sees; the built-in ones win over columns of that name."""
    return {
        **row.variables,
        "email": email,
        "name": row.name,
        "survey_link": _PLACEHOLDER_URL,
        "unsubscribe_url": _PLACEHOLDER_URL,
    }


def _address(raw: str) -> tuple[str, dict[str, Any] | None]:
    if not raw:
        return raw, problem("email", "The row has no e-mail address.", "required")
    try:
        normalized = normalize_address(raw)
        ascii_address(normalized)  # what the outbox will need (no SMTPUTF8 local parts)
    except InvalidAddressError as exc:
        return raw, problem("email", str(exc), "invalid_address")
    return normalized, None


def _visible_files(session: Session, actor: User, ids: set[int]) -> dict[int, StoredFile]:
    """The files among `ids` the actor may attach: their own, or any for an administrator
    (the rule of services/files.py); another company's are never seen (tenant scope)."""
    if not ids:
        return {}
    query = select(StoredFile).where(StoredFile.id.in_(sorted(ids)))
    if not actor.is_admin:
        query = query.where(StoredFile.uploaded_by_user_id == actor.id)
    return {row.id: row for row in session.scalars(query)}


def _file_problems(
    row: RowInput, found: Mapping[int, StoredFile], settings: Settings
) -> list[dict[str, Any]]:
    problems = []
    store = files.file_store(settings)
    for file_id in row.attachment_file_ids:
        stored = found.get(file_id)
        if stored is None:
            problems.append(
                problem(
                    "attachments",
                    f"There is no file {file_id} you may attach; upload it first (POST /files).",
                    "unknown_file",
                )
            )
            continue
        try:
            store.path(stored.storage_key)
        except StoredBlobMissingError:
            problems.append(
                problem(
                    "attachments",
                    f"The content of file {file_id} is missing; upload it again.",
                    "file_missing",
                )
            )
    return problems


def _already_in_campaign(session: Session, campaign_id: int, emails: Iterable[str]) -> set[str]:
    wanted = sorted({e.lower() for e in emails})
    if not wanted:
        return set()
    query = select(func.lower(CampaignRecipient.email)).where(
        CampaignRecipient.campaign_id == campaign_id,
        func.lower(CampaignRecipient.email).in_(wanted),
    )
    return set(session.scalars(query))


def unsubscribed(session: Session, emails: Iterable[str]) -> set[str]:
    """Which of `emails` (lower-cased) left the company's newsletters."""
    wanted = sorted({e.lower() for e in emails})
    if not wanted:
        return set()
    return set(session.scalars(select(Unsubscribe.email).where(Unsubscribe.email.in_(wanted))))


def _template_problems(
    checks: RowChecks, rows: Sequence[tuple[RowInput, str]]
) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    pairs = [(row.row_number, template_variables(row, email)) for row, email in rows]
    for item in template_render.check_rows(checks.compiled, pairs):
        field = f"variables.{item.variable}" if item.variable else "template"
        code = "missing_variable" if item.variable else "template_error"
        found[item.row_number].append(problem(field, item.message, code, item.line))
    return found


def check_batch(session: Session, checks: RowChecks, rows: Sequence[RowInput]) -> list[CheckedRow]:
    """Every row of the batch with its status: pending (valid), invalid, or opted out."""
    addressed = [(row, *_address(row.email)) for row in rows]
    wanted_files = {file_id for row in rows for file_id in row.attachment_file_ids}
    found_files = _visible_files(session, checks.actor, wanted_files)
    valid_addresses = [(row, email) for row, email, bad in addressed if bad is None]
    from_template = _template_problems(checks, valid_addresses)
    bulk = checks.kind in BULK_KINDS
    emails = [email for _, email in valid_addresses]
    left = unsubscribed(session, emails) if bulk else set()
    seen = _already_in_campaign(session, checks.campaign_id, emails) if bulk else set()
    checked = []
    for row, email, bad_address in addressed:
        problems = [problem(p.field, p.message, p.code) for p in row.problems]
        problems += [bad_address] if bad_address else []
        problems += _file_problems(row, found_files, checks.settings)
        problems += from_template.get(row.row_number, [])
        status = _status(problems, email, seen, left) if bulk else _plain_status(problems)
        if status is not CampaignRecipientStatus.INVALID:
            seen.add(email.lower())
        checked.append(CheckedRow(row, email, status, problems))
    return checked


def _plain_status(problems: list[dict[str, Any]]) -> CampaignRecipientStatus:
    return CampaignRecipientStatus.INVALID if problems else CampaignRecipientStatus.PENDING


def _status(
    problems: list[dict[str, Any]], email: str, seen: set[str], left: set[str]
) -> CampaignRecipientStatus:
    """A newsletter's row: also no address twice, and none that unsubscribed (appended to
    `problems` as the reason)."""
    if problems:
        return CampaignRecipientStatus.INVALID
    if email.lower() in seen:
        message = "This address is already a recipient of the campaign (an earlier row)."
        problems.append(problem("email", message, "duplicate_address"))
        return CampaignRecipientStatus.INVALID
    if email.lower() in left:
        message = "This address unsubscribed from the company's newsletters."
        problems.append(problem("email", message, "unsubscribed"))
        return CampaignRecipientStatus.OPTED_OUT
    return CampaignRecipientStatus.PENDING
