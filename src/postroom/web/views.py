"""Plain values for the templates, built while the database session is open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from postroom.db.models import Account, AccountChange, User
from postroom.enums import IncomingProtocol
from postroom.errors import NotFoundError
from postroom.services import access, groups, projects, users
from postroom.web.fields import CHOICES, field_label
from postroom.web.i18n import N_, Translator

_MAX_CHOICES = 1000  # users, groups, projects offered in the access section
ACTIONS = {"created": N_("created"), "updated": N_("updated"), "deleted": N_("deleted")}
SECRET_CHANGES = {
    "set": N_("password set"),
    "changed": N_("password changed"),
    "cleared": N_("password cleared"),
}


@dataclass(frozen=True)
class AccountRow:
    id: int
    email_address: str
    name: str
    owner: str | None  # None: the company
    outgoing: str
    incoming: str | None
    active: bool
    options: list[str]
    fetch_interval: int
    can_edit: bool
    needs_attention: bool = False
    attention_reason: str | None = None


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class ChangeLine:
    field: str
    secret_change: str | None  # for a password: what happened to it, never its value
    old: str | None  # None: no earlier value (the account was created)
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str  # "created", "updated", "deleted": also a CSS class
    action_label: str
    lines: list[ChangeLine]


def owner_emails(session: Session, owner_ids: set[int]) -> dict[int, str]:
    emails = {}
    for user_id in owner_ids:
        try:
            emails[user_id] = users.get_user(session, user_id).email
        except NotFoundError:
            continue
    return emails


def _options_summary(account: Account) -> list[str]:
    flags = (
        (account.notifications, N_("Notifications")),
        (account.leave_on_server, N_("Keeps copies")),
        (account.create_contacts, N_("Contacts")),
        (account.create_tasks, N_("Tasks")),
        (account.autoresponder_enabled, N_("Autoresponder")),
    )
    return [label for on, label in flags if on]


def account_rows(session: Session, actor: User, accounts: list[Account]) -> list[AccountRow]:
    emails = owner_emails(session, {a.owner_user_id for a in accounts if a.owner_user_id})
    rows = []
    for account in accounts:
        incoming = None
        if account.incoming_protocol is not IncomingProtocol.NONE:
            incoming = f"{account.incoming_protocol.value.upper()} · {account.incoming_host}"
        owner = account.owner_user_id
        rows.append(
            AccountRow(
                id=account.id,
                email_address=account.email_address,
                name=account.name or account.display_name,
                owner=None if owner is None else emails.get(owner, f"#{owner}"),
                outgoing=f"{account.smtp_host}:{account.smtp_port}",
                incoming=incoming,
                active=account.active,
                options=_options_summary(account),
                fetch_interval=account.fetch_interval_minutes,
                can_edit=access.can_edit(actor, account),
                needs_attention=account.needs_attention,
                attention_reason=account.attention_reason,
            )
        )
    return rows


def form_choices(session: Session) -> dict[str, list[Choice]]:
    """The company's users, groups and projects, for the owner select and the access lists."""
    user_rows, _ = users.list_users(session, limit=_MAX_CHOICES)
    group_rows, _ = groups.list_groups(session, limit=_MAX_CHOICES)
    project_rows, _ = projects.list_projects(session, limit=_MAX_CHOICES)
    return {
        "users": [
            Choice(str(u.id), f"{u.name} <{u.email}>" if u.name else u.email)
            for u in user_rows
            if u.active
        ],
        "groups": [Choice(str(g.id), g.name) for g in group_rows],
        "projects": [Choice(str(p.id), p.name) for p in project_rows],
    }


_CHOICE_SETS = {
    "smtp_security": "security",
    "incoming_security": "security",
    "smtp_cipher_level": "cipher",
    "incoming_cipher_level": "cipher",
    "smtp_auth": "auth",
    "incoming_auth": "auth",
    "incoming_protocol": "protocol",
    "access_mode": "access_mode",
}


def _readable(
    session: Session,
    field: str,
    value: Any,
    choices: dict[str, list[Choice]],
    translate: Translator,
) -> Any:
    """History values as a person knows them: names instead of ids, labels instead of codes."""
    if field in _CHOICE_SETS and isinstance(value, str):
        return translate(dict(CHOICES[_CHOICE_SETS[field]]).get(value, value))
    lists = {"access_user_ids": "users", "access_group_ids": "groups", "project_ids": "projects"}
    if field in lists and isinstance(value, list):
        names = {c.value: c.label for c in choices[lists[field]]}
        return [names.get(str(item), f"#{item}") for item in value]
    if field == "owner_user_id" and value is not None:
        return owner_emails(session, {int(value)}).get(int(value), f"#{value}")
    return value


def _shown(value: Any, translate: Translator) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return translate("Yes") if value else translate("No")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def history_entries(
    session: Session, changes: list[AccountChange], translate: Translator
) -> list[HistoryEntry]:
    choices = form_choices(session)
    entries = []
    for change in changes:
        lines = []
        for item in change.changes:
            field = str(item.get("field", ""))
            label = field_label(field, translate)
            if item.get("secret"):
                # Only what happened to a password, never a value (A10, A12).
                state = SECRET_CHANGES.get(str(item.get("change")), SECRET_CHANGES["changed"])
                lines.append(ChangeLine(label, translate(state), None, ""))
                continue
            old = _shown(_readable(session, field, item.get("old"), choices, translate), translate)
            new = _shown(_readable(session, field, item.get("new"), choices, translate), translate)
            if old == new:
                continue  # e.g. "no projects" before and after creation: nothing to read
            # A new account had no earlier values: show what it was created with.
            lines.append(ChangeLine(label, None, None if change.action == "created" else old, new))
        action = translate(ACTIONS.get(change.action, change.action))
        entries.append(HistoryEntry(change.at, change.actor_label, change.action, action, lines))
    return entries
