"""Mail accounts: create, read, list, change (one or many at once) and delete, with history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from postroom.db.models import (
    Account,
    AccountChange,
    AccountGrant,
    AccountProject,
    Group,
    Project,
    User,
)
from postroom.enums import IncomingProtocol
from postroom.errors import (
    ConflictError,
    FieldProblem,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from postroom.mail import ports
from postroom.mail.html import sanitize_html
from postroom.secrets import Secret, SecretBox
from postroom.services import access, history
from postroom.services.account_schemas import (
    AccountCreate,
    AccountOptionsUpdate,
    AccountUpdate,
)
from postroom.services.guards import require_admin

OWNER_COMPANY = "company"
OWNER_ME = "me"


@dataclass(frozen=True)
class AccountFilter:
    q: str | None = None  # part of the address or name
    owner: str | None = None  # "me", "company", or a user id
    active: bool | None = None
    project_id: int | None = None
    incoming_protocol: IncomingProtocol | None = None
    needs_attention: bool | None = None  # account health: waiting for a person


def get_account(session: Session, *, actor: User, account_id: int) -> Account:
    """The account if the actor may see it; otherwise it does not exist, as far as they know."""
    account = session.get(Account, account_id)
    if account is None or not access.can_see(actor, account, access.group_ids_of(session, actor)):
        raise NotFoundError(f"Account {account_id} does not exist.")
    return account


def get_usable_account(session: Session, *, actor: User, account_id: int) -> Account:
    """The account if the actor may read its mail and send from it (E1)."""
    account = get_account(session, actor=actor, account_id=account_id)
    if not access.can_use(actor, account, access.group_ids_of(session, actor)):
        raise PermissionDeniedError(
            "You may see this account but not use it; ask an administrator."
        )
    return account


def _editable(session: Session, actor: User, account_id: int) -> Account:
    account = get_account(session, actor=actor, account_id=account_id)
    if not access.can_edit(actor, account):
        raise PermissionDeniedError(
            "Only a company administrator or the account's owner may change its settings."
        )
    return account


def _filter_conditions(actor: User, filters: AccountFilter) -> list[ColumnElement[bool]]:
    conditions = [access.visible_accounts_condition(actor)]
    if filters.q:
        pattern = f"%{filters.q.strip().lower()}%"
        conditions.append(
            or_(
                func.lower(Account.email_address).like(pattern),
                func.lower(Account.name).like(pattern),
                func.lower(Account.display_name).like(pattern),
            )
        )
    if filters.owner == OWNER_ME:
        conditions.append(Account.owner_user_id == actor.id)
    elif filters.owner == OWNER_COMPANY:
        conditions.append(Account.owner_user_id.is_(None))
    elif filters.owner is not None:
        conditions.append(Account.owner_user_id == int(filters.owner))
    if filters.active is not None:
        conditions.append(Account.active.is_(filters.active))
    if filters.project_id is not None:
        bound = select(AccountProject.account_id).where(
            AccountProject.project_id == filters.project_id
        )
        conditions.append(Account.id.in_(bound))
    if filters.incoming_protocol is not None:
        conditions.append(Account.incoming_protocol == filters.incoming_protocol)
    if filters.needs_attention is not None:
        conditions.append(Account.needs_attention.is_(filters.needs_attention))
    return conditions


def list_accounts(
    session: Session,
    *,
    actor: User,
    filters: AccountFilter = AccountFilter(),
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Account], int]:
    conditions = _filter_conditions(actor, filters)
    total = session.scalar(select(func.count()).select_from(Account).where(*conditions)) or 0
    query = (
        select(Account)
        .where(*conditions)
        .order_by(Account.email_address, Account.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query)), total


def _missing_ids(
    session: Session, model: type[User | Group | Project], ids: Sequence[int]
) -> list[int]:
    found = set(session.scalars(select(model.id).where(model.id.in_(ids))))
    return sorted(set(ids) - found)


def _check_links(session: Session, values: dict[str, Any]) -> list[FieldProblem]:
    problems = []
    for field, model, label in (
        ("access_user_ids", User, "user"),
        ("access_group_ids", Group, "group"),
        ("project_ids", Project, "project"),
    ):
        missing = _missing_ids(session, model, values.get(field) or [])
        if missing:
            problems.append(
                FieldProblem(
                    field,
                    f"No {label} with id {', '.join(map(str, missing))} in this company.",
                    f"unknown_{label}",
                )
            )
    owner = values.get("owner_user_id")
    if owner is not None and _missing_ids(session, User, [owner]):
        problems.append(
            FieldProblem(
                "owner_user_id", f"No user with id {owner} in this company.", "unknown_user"
            )
        )
    return problems


def _check_consistency(account: Account) -> list[FieldProblem]:
    problems = []
    if account.incoming_protocol is not IncomingProtocol.NONE and not account.incoming_host:
        problems.append(
            FieldProblem(
                "incoming_host",
                "Give the incoming server's host name, or set incoming_protocol to none.",
                "required",
            )
        )
    if not account.smtp_host:
        problems.append(
            FieldProblem("smtp_host", "Give the outgoing (SMTP) server's host name.", "required")
        )
    start, end = account.autoresponder_from, account.autoresponder_until
    if start and end and start > end:
        problems.append(
            FieldProblem(
                "autoresponder_until",
                "The autoresponder's end date is before its start date.",
                "date_order",
            )
        )
    return problems


def _apply(account: Account, values: dict[str, Any], box: SecretBox | None) -> None:
    for name, value in values.items():
        if name in history.ENCRYPTED_COLUMNS:
            assert box is not None, "secrets given where no key is at hand"
            secret = None if value is None else box.encrypt(Secret(value.get_secret_value()))
            setattr(account, history.ENCRYPTED_COLUMNS[name], secret)
        elif name == "access_user_ids":
            _set_grants(account, user_ids=value, group_ids=None)
        elif name == "access_group_ids":
            _set_grants(account, user_ids=None, group_ids=value)
        elif name == "project_ids":
            current = {link.project_id: link for link in account.projects}
            account.projects = [
                current.get(pid) or AccountProject(project_id=pid) for pid in sorted(set(value))
            ]
        elif name in ("header_html", "signature_html"):
            setattr(account, name, sanitize_html(value))
        else:
            setattr(account, name, value)


def _set_grants(
    account: Account, *, user_ids: list[int] | None, group_ids: list[int] | None
) -> None:
    keep = [
        g
        for g in account.grants
        if (g.user_id is None if user_ids is not None else g.group_id is None)
    ]
    by_key = {(g.user_id, g.group_id): g for g in account.grants}
    added = (
        [(uid, None) for uid in sorted(set(user_ids))]
        if user_ids is not None
        else [(None, gid) for gid in sorted(set(group_ids or []))]
    )
    account.grants = keep + [
        by_key.get(key) or AccountGrant(user_id=key[0], group_id=key[1]) for key in added
    ]


def _fill_defaults(account: Account) -> None:
    if account.smtp_port is None:
        account.smtp_port = ports.smtp_port(account.smtp_security)
    if account.incoming_port is None:
        account.incoming_port = ports.incoming_port(
            account.incoming_protocol, account.incoming_security
        )
    if not account.smtp_username:
        account.smtp_username = account.email_address  # usually the login (A1)
    if account.incoming_protocol is not IncomingProtocol.NONE and not account.incoming_username:
        account.incoming_username = account.email_address


def _validate(session: Session, account: Account, values: dict[str, Any]) -> None:
    problems = _check_links(session, values) + _check_consistency(account)
    if problems:
        raise ValidationError(
            "The account settings are not valid: " + " ".join(p.message for p in problems), problems
        )


def create_account(
    session: Session,
    *,
    actor: User | None,
    data: AccountCreate,
    box: SecretBox,
    company_id: int | None = None,
) -> Account:
    """`actor` None: the operator (CLI), who must name the company."""
    values = data.model_dump(exclude_unset=False)
    if actor is not None and not actor.is_admin and data.owner_user_id != actor.id:
        raise PermissionDeniedError(
            "You may create only your own personal accounts "
            f"(owner_user_id {actor.id}); ask an administrator for others."
        )
    account = Account(
        company_id=actor.company_id if actor else company_id,
        email_address=data.email_address,
        smtp_port=None,
        incoming_port=None,
    )
    _apply(account, {k: v for k, v in values.items() if k != "email_address"}, box)
    _fill_defaults(account)
    _validate(session, account, values)
    session.add(account)
    session.flush()
    history.record(
        session,
        account=account,
        actor=actor,
        action="created",
        changes=history.diff({}, history.snapshot(account)),
    )
    return account


def update_account(
    session: Session, *, actor: User, account_id: int, data: AccountUpdate, box: SecretBox
) -> Account:
    account = _editable(session, actor, account_id)
    values = data.model_dump(exclude_unset=True)
    if "owner_user_id" in values and values["owner_user_id"] != account.owner_user_id:
        require_admin(actor, "change an account's owner")
    _guard_protocol_lock(account, values)
    before = history.snapshot(account)
    _apply(account, values, box)
    _fill_defaults(account)
    _validate(session, account, values)
    session.flush()
    history.record(
        session,
        account=account,
        actor=actor,
        action="updated",
        changes=history.diff(before, history.snapshot(account)),
    )
    return account


def _guard_protocol_lock(account: Account, values: dict[str, Any]) -> None:
    new = values.get("incoming_protocol")
    if (
        account.first_fetched_at is not None
        and new is not None
        and new != account.incoming_protocol
    ):
        raise ConflictError(
            f"Mail has already been downloaded from this account by "
            f"{account.incoming_protocol.value.upper()}, so its protocol can no longer change "
            "(A4). A new account is needed for the other protocol; the old one can stay as an "
            "archive of the mail already downloaded (set it inactive so it stops fetching), "
            "and a migration (POST /api/v1/migrations) uploads that mail to the new account.",
            code="protocol_locked",
        )


def bulk_update_options(
    session: Session, *, actor: User, account_ids: Sequence[int], options: AccountOptionsUpdate
) -> list[Account]:
    """Set the same options on many accounts (A11): all of them change, or none does."""
    accounts = [_editable(session, actor, account_id) for account_id in dict.fromkeys(account_ids)]
    values = options.model_dump(exclude_unset=True)
    for account in accounts:
        before = history.snapshot(account)
        _apply(account, values, box=None)  # options carry no secrets
        history.record(
            session,
            account=account,
            actor=actor,
            action="updated",
            changes=history.diff(before, history.snapshot(account)),
        )
    session.flush()
    return accounts


def delete_account(session: Session, *, actor: User, account_id: int) -> None:
    account = _editable(session, actor, account_id)
    history.record(session, account=account, actor=actor, action="deleted", changes=[])
    session.delete(account)


def account_history(
    session: Session, *, actor: User, account_id: int, limit: int = 100, offset: int = 0
) -> tuple[list[AccountChange], int]:
    get_account(session, actor=actor, account_id=account_id)
    return history.list_changes(session, account_id, limit=limit, offset=offset)
