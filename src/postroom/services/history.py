"""Account change history (A10): who changed which fields, old → new, secrets only as "changed"."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postroom.db.models import Account, AccountChange, User
from postroom.services.account_schemas import LINK_FIELDS, SECRET_FIELDS, AccountCreate

# Every field a caller can set, in the order the form shows them.
TRACKED_FIELDS = tuple(name for name in AccountCreate.model_fields if name not in SECRET_FIELDS)
ENCRYPTED_COLUMNS = {name: f"{name}_encrypted" for name in SECRET_FIELDS}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return sorted(value)
    return value


def snapshot(account: Account) -> dict[str, Any]:
    """The account's settings as plain values; secrets only as whether one is set."""
    values: dict[str, Any] = {
        "email_address": account.email_address,
        "owner_user_id": account.owner_user_id,
        "access_user_ids": sorted(g.user_id for g in account.grants if g.user_id is not None),
        "access_group_ids": sorted(g.group_id for g in account.grants if g.group_id is not None),
        "project_ids": sorted(p.project_id for p in account.projects),
    }
    for name in TRACKED_FIELDS:
        if name not in values and name not in LINK_FIELDS:
            values[name] = _jsonable(getattr(account, name))
    for name, column in ENCRYPTED_COLUMNS.items():
        # The ciphertext, compared only to see whether it changed; never written to history.
        values[name] = getattr(account, column)
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for name, new in after.items():
        old = before.get(name)
        if old == new:
            continue
        if name in ENCRYPTED_COLUMNS:
            state = "cleared" if new is None else ("set" if old is None else "changed")
            changes.append({"field": name, "secret": True, "change": state})
        else:
            changes.append({"field": name, "old": old, "new": new})
    return changes


def record(
    session: Session,
    *,
    account: Account,
    actor: User | None,
    action: str,
    changes: list[dict[str, Any]],
) -> AccountChange | None:
    if action == "updated" and not changes:
        return None  # saving an unchanged form is not an event
    entry = AccountChange(
        company_id=account.company_id,
        account_id=account.id,
        actor_user_id=actor.id if actor else None,
        actor_label=actor.email if actor else "operator (command line)",
        action=action,
        changes=changes,
    )
    session.add(entry)
    return entry


def list_changes(
    session: Session, account_id: int, *, limit: int = 100, offset: int = 0
) -> tuple[list[AccountChange], int]:
    where = AccountChange.account_id == account_id
    total = session.scalar(select(func.count()).select_from(AccountChange).where(where)) or 0
    query = (
        select(AccountChange)
        .where(where)
        .order_by(AccountChange.at.desc(), AccountChange.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query)), total
