"""Users of a company: creation, roles and permissions (E2, D3), passwords, removal."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postroom.addresses import InvalidAddressError, normalize_address
from postroom.db.models import User
from postroom.enums import Language, Role
from postroom.errors import ConflictError, PermissionDeniedError, ValidationError
from postroom.services.guards import add_unique, get_or_404, require_admin
from postroom.services.passwords import hash_password, verify_password


@dataclass(frozen=True)
class UserChanges:
    """Fields to change; None leaves a field as it is."""

    name: str | None = None
    role: Role | None = None
    can_see_others_accounts: bool | None = None
    can_purge_mail: bool | None = None
    language: Language | None = None
    active: bool | None = None
    password: str | None = None


_SELF_EDITABLE = {"name", "language", "password"}


def _email(value: str) -> str:
    try:
        # Logins compare case-insensitively, so the whole address is stored lower-cased.
        return normalize_address(value.strip()).lower()
    except InvalidAddressError as exc:
        raise ValidationError.for_field("email", str(exc), "invalid_email") from exc


def create_user(
    session: Session,
    *,
    actor: User | None,
    company_id: int,
    email: str,
    name: str = "",
    password: str | None = None,
    role: Role = Role.USER,
    can_see_others_accounts: bool = False,
    can_purge_mail: bool = False,
    language: Language = Language.PL,
) -> User:
    """`actor` None means the operator (CLI) or the platform is creating the user."""
    if actor is not None:
        require_admin(actor, "add users")
    user = User(
        company_id=company_id,
        email=_email(email),
        name=name.strip(),
        role=role,
        can_see_others_accounts=can_see_others_accounts,
        can_purge_mail=can_purge_mail,
        language=language,
        password_hash=hash_password(password) if password else None,
    )
    return add_unique(
        session,
        user,
        f"A user with the e-mail {user.email} already exists; choose another address.",
        "email_taken",
    )


def list_users(session: Session, *, limit: int = 100, offset: int = 0) -> tuple[list[User], int]:
    total = session.scalar(select(func.count()).select_from(User)) or 0
    rows = session.scalars(select(User).order_by(User.id).limit(limit).offset(offset)).all()
    return list(rows), total


def get_user(session: Session, user_id: int) -> User:
    return get_or_404(session, User, user_id, "User")


def _admin_count(session: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)
    return session.scalar(query) or 0


def _guard_last_admin(session: Session, user: User, changes: UserChanges) -> None:
    demoted = changes.role is Role.USER or changes.active is False
    if user.is_admin and user.active and demoted and _admin_count(session) <= 1:
        raise ConflictError(
            "This is the company's last administrator; make another user an administrator first.",
            code="last_admin",
        )


def update_user(session: Session, *, actor: User, user_id: int, changes: UserChanges) -> User:
    user = get_user(session, user_id)
    requested = {name for name, value in vars(changes).items() if value is not None}
    if not actor.is_admin and (user.id != actor.id or requested - _SELF_EDITABLE):
        raise PermissionDeniedError(
            "Only a company administrator may change roles, permissions or other users."
        )
    _guard_last_admin(session, user, changes)
    for field in requested - {"password"}:
        setattr(user, field, getattr(changes, field))
    if changes.password is not None:
        user.password_hash = hash_password(changes.password)
    if changes.name is not None:
        user.name = changes.name.strip()
    return user


def delete_user(session: Session, *, actor: User, user_id: int) -> None:
    require_admin(actor, "remove users")
    user = get_user(session, user_id)
    _guard_last_admin(session, user, UserChanges(active=False))
    session.delete(user)


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """Find an active user by login and password (platform session: the company is not known)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if not verify_password(user.password_hash if user else None, password):
        return None
    return user if user is not None and user.active else None
