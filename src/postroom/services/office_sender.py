"""Who the office is when no user acts (scheduled reminders, invoice notices): its oldest
active administrator sends its automatic e-mail, and the office writes in that person's
language (a company has no language of its own)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.enums import Language, Role


def first_admin(session: Session) -> User | None:
    """The oldest active administrator of the session's company (a stable choice)."""
    return session.scalar(
        select(User)
        .where(User.role == Role.ADMIN, User.active.is_(True))
        .order_by(User.id)
        .limit(1)
    )


def office_language(session: Session) -> Language:
    admin = first_admin(session)
    return admin.language if admin is not None else Language.PL
