"""Browser sessions: a random id in an HttpOnly cookie; its hash and a CSRF token are stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import User, WebSession


@dataclass(frozen=True)
class OpenedSession:
    cookie_value: str  # goes to the browser once; only its hash is stored
    csrf_token: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def open_session(session: Session, *, user: User, max_age: timedelta) -> OpenedSession:
    cookie_value = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            company_id=user.company_id,
            user_id=user.id,
            session_hash=_digest(cookie_value),
            csrf_token=csrf_token,
            expires_at=utcnow() + max_age,
        )
    )
    return OpenedSession(cookie_value=cookie_value, csrf_token=csrf_token)


def find_session(session: Session, cookie_value: str) -> tuple[WebSession, User] | None:
    """The live session and its active user (platform session: the company is not yet known)."""
    row = session.scalar(select(WebSession).where(WebSession.session_hash == _digest(cookie_value)))
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return row, user


def close_session(session: Session, cookie_value: str) -> None:
    session.execute(delete(WebSession).where(WebSession.session_hash == _digest(cookie_value)))


def purge_expired_sessions(session: Session) -> int:
    """Housekeeping for the worker: forget sessions that can no longer be used."""
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)
