"""The account form: posted fields → AccountCreate/AccountUpdate input, and an account → fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from enum import Enum
from typing import Any

from postroom.db.models import Account
from postroom.services.account_schemas import (
    LINK_FIELDS,
    SECRET_FIELDS,
    AccountCreate,
    AccountVisibleSettings,
)

OWNER_FIELD = "owner_user_id"
# The setup wizard's one password: used for each side whose own password input is left empty.
MAILBOX_PASSWORD = "mailbox_password"  # noqa: S105  (a field name, not a secret)
OWNER_COMPANY = "company"  # the owner select's value for a shared (company) account

BOOL_FIELDS = frozenset(
    name for name, info in AccountCreate.model_fields.items() if info.annotation is bool
)
# Optional values where an empty input means "none" (a port: the standard one for the mode).
BLANK_IS_NONE = frozenset(
    {
        "reply_to",
        "smtp_port",
        "incoming_port",
        "fetch_since",
        "sent_folder",
        "drafts_folder",
        "autoresponder_from",
        "autoresponder_until",
    }
)
TEXT_FIELDS = tuple(
    name
    for name in AccountCreate.model_fields
    if name not in BOOL_FIELDS
    and name not in LINK_FIELDS
    and name not in SECRET_FIELDS
    and name != OWNER_FIELD
)


def clear_field(secret: str) -> str:
    """The checkbox that removes a stored password (an empty input keeps it)."""
    return f"clear_{secret}"


def _owner_value(raw: str) -> int | str | None:
    return None if raw in ("", OWNER_COMPANY) else raw


def _int_list(values: Iterable[str]) -> list[int | str]:
    # Non-numbers go through unchanged, so the schema reports them like any other bad input.
    return [int(v) if v.isdigit() else v for v in values if v != ""]


def parse_account_form(form: Any, *, with_owner: bool, new: bool) -> dict[str, Any]:
    """Schema input from a posted form. `form` is a Starlette FormData (get/getlist).

    Checkboxes are always on the form, so a missing one is unticked (browsers send nothing).
    Passwords: an empty input is left out (create: none; update: unchanged), the clear
    checkbox sends null. Only the schema's fields are taken, so csrf_token never reaches it.
    """
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name not in form:
            continue  # not on the form (the schema's default, or unchanged)
        raw = str(form.get(name) or "")
        data[name] = None if name in BLANK_IS_NONE and not raw.strip() else raw
    for name in BOOL_FIELDS:
        data[name] = form.get(name) is not None
    for name in LINK_FIELDS:
        data[name] = _int_list(form.getlist(name))
    if with_owner:
        data[OWNER_FIELD] = _owner_value(str(form.get(OWNER_FIELD) or ""))
    for name in SECRET_FIELDS:
        raw = str(form.get(name) or "")
        if raw:
            data[name] = raw
        elif not new and form.get(clear_field(name)) is not None:
            data[name] = None
    return data


def with_mailbox_password(data: dict[str, Any], form: Any) -> dict[str, Any]:
    """A new account's input with the wizard's password on each side that has none of its own."""
    shared = str(form.get(MAILBOX_PASSWORD) or "")
    if shared:
        for name in SECRET_FIELDS:
            data.setdefault(name, shared)
    return data


def typed_secrets(form: Any) -> frozenset[str]:
    """The password inputs the user filled in: after a refusal they are asked to type them again
    (a typed password is never sent back to the browser, A12)."""
    return frozenset(name for name in (*SECRET_FIELDS, MAILBOX_PASSWORD) if form.get(name))


def display_value(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    if isinstance(value, list | tuple | set):
        return [str(item) for item in value]
    return str(value)


def default_values(owner_user_id: int | None) -> dict[str, Any]:
    values = {name: display_value(v) for name, v in AccountVisibleSettings().model_dump().items()}
    values["email_address"] = ""
    values[OWNER_FIELD] = OWNER_COMPANY if owner_user_id is None else str(owner_user_id)
    return _without_secrets(values)


def account_values(account: Account) -> dict[str, Any]:
    """What the form shows for a saved account. Passwords never: the inputs stay empty."""
    values: dict[str, Any] = {
        name: display_value(getattr(account, name)) for name in (*TEXT_FIELDS, *BOOL_FIELDS)
    }
    owner = account.owner_user_id
    values[OWNER_FIELD] = OWNER_COMPANY if owner is None else str(owner)
    values["access_user_ids"] = [str(g.user_id) for g in account.grants if g.user_id is not None]
    values["access_group_ids"] = [str(g.group_id) for g in account.grants if g.group_id is not None]
    values["project_ids"] = [str(link.project_id) for link in account.projects]
    return values


def submitted_values(form: Any) -> dict[str, Any]:
    """The user's input, to show again after an error; never the passwords they typed."""
    values: dict[str, Any] = {name: str(form.get(name) or "") for name in TEXT_FIELDS}
    values.update({name: form.get(name) is not None for name in BOOL_FIELDS})
    values.update({name: [str(v) for v in form.getlist(name)] for name in LINK_FIELDS})
    values[OWNER_FIELD] = str(form.get(OWNER_FIELD) or OWNER_COMPANY)
    return _without_secrets(values)


def _without_secrets(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name not in SECRET_FIELDS}
