"""Small checks every service repeats: admin-only actions, loading a row or a clear 404."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postroom.db.base import Base
from postroom.db.models import User
from postroom.errors import ConflictError, NotFoundError, PermissionDeniedError

ModelT = TypeVar("ModelT", bound=Base)


def require_admin(actor: User, action: str) -> None:
    if not actor.is_admin:
        raise PermissionDeniedError(f"Only a company administrator may {action}.")


def get_or_404(session: Session, model: type[ModelT], row_id: int, label: str) -> ModelT:
    """Load by id within the session's company; another company's row is simply not found."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFoundError(f"{label} {row_id} does not exist.")
    return row


def add_unique(session: Session, row: ModelT, conflict_message: str, code: str) -> ModelT:
    """Add (or re-flush) a row; a unique-constraint clash becomes a ConflictError, not a 500.

    The savepoint keeps the caller's transaction usable after the clash.
    """
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:
        raise ConflictError(conflict_message, code=code) from exc
    return row
