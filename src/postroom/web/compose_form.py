"""The compose form: posted fields → draft input (DraftWrite), and a draft → the form's fields."""

# The form edits what a person writes: recipients, subject, text, kind, project, sender and
# attachments. Anything else a draft may hold (an HTML body or threading headers set through
# the API) rides along in one hidden JSON field, so saving from the web never drops it.

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from postroom.enums import DocumentKind
from postroom.errors import ValidationError
from postroom.services.message_schemas import DraftWrite, Recipient

SENDER_FIELD = "sender"
RELAY_CHOICE = "relay"
ACCOUNT_PREFIX = "account:"
RECIPIENT_FIELDS = ("to", "cc", "bcc")
TEXT_FIELDS = ("subject", "text", "document_kind", "project_id", SENDER_FIELD)
ATTACHMENT_FIELD = "attachment_ids"
DRAFT_FIELD = "draft_id"
KEPT_FIELD = "kept"
# DraftWrite fields the form does not show, kept unchanged from the draft it was opened from.
KEPT = ("html", "reply_to", "in_reply_to", "references", "from_own_template")
_SEPARATORS = ",;\n\r"
_MAX_KEPT_CHARS = 2 * 1024 * 1024


def sender_value(account_id: int | None, use_relay: bool) -> str:
    """The From select's value for a sender: "account:12", "relay", or "" (the rules pick)."""
    if use_relay:
        return RELAY_CHOICE
    return f"{ACCOUNT_PREFIX}{account_id}" if account_id is not None else ""


def parse_sender(raw: str) -> tuple[int | None, bool]:
    """(account_id, use_relay) from the select's value; anything else is refused, not guessed."""
    if raw == "":
        return None, False
    if raw == RELAY_CHOICE:
        return None, True
    number = raw.removeprefix(ACCOUNT_PREFIX)
    if raw.startswith(ACCOUNT_PREFIX) and number.isdigit():
        return int(number), False
    raise ValidationError.for_field(SENDER_FIELD, "Choose one of the offered senders.", "invalid")


def split_recipients(text: str) -> list[str]:
    """The addresses typed in one field, split at commas, semicolons and line breaks outside
    double quotes (so "Nowak, Anna" <anna@x.pl> stays one)."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char in _SEPARATORS and not quoted:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return [piece.strip() for piece in pieces if piece.strip()]


def recipient_of(piece: str) -> str | dict[str, str]:
    """`Anna Nowak <anna@x.pl>` → address and name; anything else is the address as typed, for
    the message builder to accept or refuse by its position (to[2])."""
    if piece.endswith(">") and "<" in piece:
        name, _, address = piece[:-1].rpartition("<")
        name = name.strip().strip('"').strip()
        return {"address": address.strip(), "name": name} if name else address.strip()
    return piece


def recipient_text(value: Recipient) -> str:
    """One recipient as it is typed: the address, or `Name <address>` (quoted when needed)."""
    if isinstance(value, str):
        return value
    if not value.name:
        return value.address
    name = f'"{value.name}"' if any(c in value.name for c in ',;"<>') else value.name
    return f"{name} <{value.address}>"


def recipients_text(values: list[Recipient]) -> str:
    return ", ".join(recipient_text(value) for value in values)


def attachment_ids(form: Any) -> list[int]:
    """The attached files' ids, in order, each once."""
    ids: list[int] = []
    for raw in form.getlist(ATTACHMENT_FIELD):
        if isinstance(raw, str) and raw.isdigit() and int(raw) not in ids:
            ids.append(int(raw))
    return ids


def draft_id_of(form: Any) -> int | None:
    raw = form.get(DRAFT_FIELD)
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None


def _kept(form: Any) -> dict[str, Any]:
    raw = form.get(KEPT_FIELD)
    if not isinstance(raw, str) or not raw or len(raw) > _MAX_KEPT_CHARS:
        return {}
    try:
        found = json.loads(raw)
    except ValueError:
        return {}
    return {k: v for k, v in found.items() if k in KEPT} if isinstance(found, dict) else {}


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def draft_input(form: Any, attachments: list[int]) -> dict[str, Any]:
    """DraftWrite input from the posted form. Nothing is checked here but the sender's shape:
    a draft may be half-typed; sending checks it as any message."""
    account_id, use_relay = parse_sender(_text(form, SENDER_FIELD))
    project = _text(form, "project_id")
    data: dict[str, Any] = {
        name: [recipient_of(p) for p in split_recipients(_text(form, name))]
        for name in RECIPIENT_FIELDS
    }
    data |= {
        "subject": _text(form, "subject"),
        "text": _text(form, "text") or None,
        "document_kind": _text(form, "document_kind") or DocumentKind.OTHER.value,
        # A value that is not a number goes through, for the schema to report by name.
        "project_id": (int(project) if project.isdigit() else project) or None,
        "account_id": account_id,
        "use_relay": use_relay,
        "attachments": [{"file_id": file_id} for file_id in attachments],
    }
    return {**_kept(form), **data}


def submitted_values(form: Any) -> dict[str, str]:
    """What the user typed, to show again exactly so after a refusal."""
    names = (*RECIPIENT_FIELDS, *TEXT_FIELDS, KEPT_FIELD)
    return {name: _text(form, name) for name in names}


def blank_values(project_id: int | None = None) -> dict[str, str]:
    values = dict.fromkeys((*RECIPIENT_FIELDS, *TEXT_FIELDS, KEPT_FIELD), "")
    values["document_kind"] = DocumentKind.OTHER.value
    values["project_id"] = "" if project_id is None else str(project_id)
    return values


def draft_values(fields: DraftWrite) -> dict[str, str]:
    """A saved draft as the form shows it."""
    values = {name: recipients_text(getattr(fields, name)) for name in RECIPIENT_FIELDS}
    kept = fields.model_dump(mode="json", include=set(KEPT))
    defaults = DraftWrite().model_dump(mode="json", include=set(KEPT))
    changed = {k: v for k, v in kept.items() if v != defaults[k]}
    values |= {
        "subject": fields.subject,
        "text": fields.text or "",
        "document_kind": fields.document_kind.value,
        "project_id": "" if fields.project_id is None else str(fields.project_id),
        SENDER_FIELD: sender_value(fields.account_id, fields.use_relay),
        KEPT_FIELD: json.dumps(changed, ensure_ascii=False) if changed else "",
    }
    return values


def indexed_pieces(values: dict[str, str]) -> Iterator[tuple[str, list[str]]]:
    """Each recipient field with its typed pieces, in the order the builder numbers them."""
    for name in RECIPIENT_FIELDS:
        yield name, split_recipients(values.get(name, ""))
