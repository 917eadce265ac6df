"""Who is browsing: the session cookie, the CSRF check and the logged-in visitor dependency."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from postroom.db.models import User
from postroom.enums import Language
from postroom.services import accounts, websessions
from postroom.services.runtime import Runtime
from postroom.web.i18n import DEFAULT_LANGUAGE, parse_language

SESSION_COOKIE = "postroom_session"
LANGUAGE_COOKIE = "postroom_lang"
LOGIN_CSRF_COOKIE = "postroom_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
HOME = "/accounts"
_YEAR = 365 * 24 * 3600
ATTENTION_SHOWN = 5  # accounts named in the page-top notice; the list shows them all


class LoginRequiredError(Exception):
    """No live session: the visitor goes to the login page and comes back to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfError(Exception):
    """A state-changing request without the session's CSRF token: maybe forged by another site."""


@dataclass(frozen=True)
class AttentionItem:
    """An account that waits for a person (account health), for the notice on every page."""

    account_id: int
    email: str
    reason: str | None  # AttentionReason value


@dataclass(frozen=True)
class Visitor:
    """The logged-in user as far as the page frame needs: no database session attached."""

    user_id: int
    company_id: int
    email: str
    is_admin: bool
    language: Language
    csrf_token: str
    cookie_value: str
    # Their own accounts needing attention; for an administrator, all of the company's.
    attention: tuple[AttentionItem, ...] = ()
    attention_total: int = 0


@dataclass(frozen=True)
class WebTransaction:
    """What account_setup's `begin` yields: the visitor's company session and their user."""

    session: Session
    actor: User


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def safe_next(value: str | None) -> str:
    """Only a path on this site: `//evil.example` or `https://…` would be an open redirect."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(ch) < 0x20 for ch in value)
    ):
        return HOME
    return value


def find_visitor(request: Request) -> Visitor | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    with get_runtime(request).platform() as session:
        found = websessions.find_session(session, cookie)
        if found is None:
            return None
        row, user = found
        visitor = Visitor(
            user_id=user.id,
            company_id=user.company_id,
            email=user.email,
            is_admin=user.is_admin,
            language=user.language,
            csrf_token=row.csrf_token,
            cookie_value=cookie,
        )
    visitor = _with_attention(get_runtime(request), visitor)
    # Error pages rendered later in this request use it for the language and the header.
    request.state.visitor = visitor
    return visitor


def _with_attention(runtime: Runtime, visitor: Visitor) -> Visitor:
    """The accounts the visitor is to be told about: the owner and the administrators are the
    ones notified when an account needs attention."""
    owner = None if visitor.is_admin else accounts.OWNER_ME
    filters = accounts.AccountFilter(needs_attention=True, owner=owner)
    with tenant_work(runtime, visitor) as (session, actor):
        found, total = accounts.list_accounts(
            session, actor=actor, filters=filters, limit=ATTENTION_SHOWN
        )
        items = tuple(AttentionItem(a.id, a.email_address, a.attention_reason) for a in found)
    return replace(visitor, attention=items, attention_total=total)


def require_visitor(request: Request) -> Visitor:
    visitor = find_visitor(request)
    if visitor is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequiredError(path)
    return visitor


def load_actor(session: Session, visitor: Visitor) -> User:
    """The visitor's user inside a tenant session, so services see the current row."""
    user = session.get(User, visitor.user_id)
    if user is None or not user.active:
        raise LoginRequiredError(HOME)
    return user


@contextmanager
def tenant_work(runtime: Runtime, visitor: Visitor) -> Iterator[tuple[Session, User]]:
    """A transaction confined to the visitor's company, and the visitor's user in it."""
    with runtime.tenant(visitor.company_id) as session:
        yield session, load_actor(session, visitor)


def transactions(
    runtime: Runtime, visitor: Visitor
) -> Callable[[], AbstractContextManager[WebTransaction]]:
    """account_setup's `begin`: each call opens one transaction as the visitor."""

    @contextmanager
    def begin() -> Iterator[WebTransaction]:
        with tenant_work(runtime, visitor) as (session, actor):
            yield WebTransaction(session, actor)

    return begin


def tokens_match(presented: str | None, expected: str) -> bool:
    # Constant-time comparison: the token must not leak through response timing.
    return bool(presented) and hmac.compare_digest(str(presented).encode(), expected.encode())


async def checked_form(
    request: Request, visitor: Annotated[Visitor, Depends(require_visitor)]
) -> FormData:
    """The POSTed form, once its CSRF token (field or htmx header) matches the session's."""
    form = await request.form()
    presented = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not isinstance(presented, str) or not tokens_match(presented, visitor.csrf_token):
        raise CsrfError
    return form


def login_url(next_path: str) -> str:
    return f"/login?next={quote(safe_next(next_path), safe='/')}"


def anonymous_language(request: Request) -> Language:
    return parse_language(request.cookies.get(LANGUAGE_COOKIE)) or DEFAULT_LANGUAGE


def visitor_language(request: Request) -> Language:
    visitor: Visitor | None = getattr(request.state, "visitor", None)
    return visitor.language if visitor is not None else anonymous_language(request)


def set_session_cookie(response: Response, runtime: Runtime, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=runtime.settings.session_max_age_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=runtime.settings.secure_cookies,
    )


def set_language_cookie(response: Response, runtime: Runtime, language: Language) -> None:
    response.set_cookie(
        LANGUAGE_COOKIE,
        language.value,
        max_age=_YEAR,
        path="/",
        httponly=True,
        samesite="lax",
        secure=runtime.settings.secure_cookies,
    )


def login_csrf_token(request: Request) -> str:
    """Double-submit token for the login form, which has no session yet (login CSRF)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_login_csrf_cookie(response: Response, runtime: Runtime, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=runtime.settings.secure_cookies,
    )


VisitorDep = Annotated[Visitor, Depends(require_visitor)]
CheckedForm = Annotated[FormData, Depends(checked_form)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
