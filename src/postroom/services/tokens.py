"""API bearer tokens: shown once when made, stored as SHA-256, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import ApiToken, User
from postroom.errors import NotFoundError
from postroom.services.guards import get_or_404, require_admin

TOKEN_PREFIX = "pr_"  # noqa: S105  (a label, not a secret)
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str  # returned to the caller once, never stored


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def issue_token(session: Session, *, actor: User | None, user: User, name: str = "") -> IssuedToken:
    """`actor` None: the operator (CLI). Users make their own tokens; admins anyone's."""
    if actor is not None and actor.id != user.id:
        require_admin(actor, "create tokens for other users")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        company_id=user.company_id,
        user_id=user.id,
        name=name.strip(),
        token_hash=_digest(plaintext),
        prefix=plaintext[:10],
    )
    session.add(token)
    session.flush()
    return IssuedToken(token=token, plaintext=plaintext)


def list_tokens(session: Session, *, actor: User, user_id: int | None = None) -> list[ApiToken]:
    owner = actor.id if user_id is None else user_id
    if owner != actor.id:
        require_admin(actor, "see other users' tokens")
    query = select(ApiToken).where(ApiToken.user_id == owner).order_by(ApiToken.id)
    return list(session.scalars(query))


def revoke_token(session: Session, *, actor: User, token_id: int) -> ApiToken:
    token = get_or_404(session, ApiToken, token_id, "Token")
    if token.user_id != actor.id:
        require_admin(actor, "revoke other users' tokens")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def resolve_token(session: Session, plaintext: str) -> User:
    """The active user a presented token belongs to (platform session), or NotFoundError."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(plaintext)))
    if token is None or token.revoked_at is not None:
        raise NotFoundError("unknown or revoked token")
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        raise NotFoundError("unknown or revoked token")
    now = utcnow()
    # Recorded at most once a minute: a write per request would serialise SQLite readers.
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
    return user
