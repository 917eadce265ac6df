"""Login, logout and the language switch."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from postroom.enums import Language
from postroom.services import users, websessions
from postroom.services.runtime import Runtime
from postroom.web.auth import (
    HOME,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CheckedForm,
    RuntimeDep,
    VisitorDep,
    find_visitor,
    load_actor,
    login_csrf_token,
    safe_next,
    set_language_cookie,
    set_login_csrf_cookie,
    set_session_cookie,
    tokens_match,
)
from postroom.web.i18n import N_, parse_language
from postroom.web.rendering import redirect, render

router = APIRouter()

WRONG_CREDENTIALS = N_("Wrong e-mail address or password.")
FORM_EXPIRED = N_("The form has expired. Please try again.")


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return redirect(HOME)


def _login_page(
    request: Request,
    runtime: Runtime,
    *,
    next_path: str,
    chosen: Language | None = None,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    token = login_csrf_token(request)
    response = render(
        request,
        "login.html",
        {
            "next_path": safe_next(next_path),
            "email": email,
            "error": error,
            "login_csrf": token,
            # Picked on this page: it becomes the user's own language once they log in.
            "chosen_language": chosen.value if chosen else "",
        },
        status_code=status_code,
        language=chosen,
    )
    set_login_csrf_cookie(response, runtime, token)
    if chosen is not None:
        set_language_cookie(response, runtime, chosen)
    return response


@router.get("/login", response_model=None)
def login_form(
    request: Request, runtime: RuntimeDep, next: str = HOME, lang: str | None = None
) -> Response:
    if find_visitor(request) is not None:
        return redirect(safe_next(next))
    return _login_page(request, runtime, next_path=next, chosen=parse_language(lang))


@router.post("/login", response_model=None)
def login(
    request: Request,
    runtime: RuntimeDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = HOME,
    csrf_token: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
) -> Response:
    chosen = parse_language(language)
    if not tokens_match(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return _login_page(
            request,
            runtime,
            next_path=next,
            chosen=chosen,
            email=email,
            error=FORM_EXPIRED,
            status_code=403,
        )
    with runtime.platform() as session:
        user = users.authenticate(session, email=email, password=password)
        if user is None:
            opened = None
        else:
            if chosen is not None and chosen is not user.language:
                changes = users.UserChanges(language=chosen)
                users.update_user(session, actor=user, user_id=user.id, changes=changes)
            max_age = timedelta(seconds=runtime.settings.session_max_age_seconds)
            opened = websessions.open_session(session, user=user, max_age=max_age)
    if opened is None:
        # One message for an unknown address and a wrong password: no hint which it was.
        return _login_page(
            request,
            runtime,
            next_path=next,
            chosen=chosen,
            email=email,
            error=WRONG_CREDENTIALS,
            status_code=401,
        )
    response = redirect(safe_next(next))
    set_session_cookie(response, runtime, opened.cookie_value)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", response_model=None)
def logout(visitor: VisitorDep, _form: CheckedForm, runtime: RuntimeDep) -> Response:
    with runtime.platform() as session:
        websessions.close_session(session, visitor.cookie_value)
    response = redirect("/login", flash="logged_out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language", response_model=None)
def switch_language(visitor: VisitorDep, form: CheckedForm, runtime: RuntimeDep) -> Response:
    language = parse_language(str(form.get("language") or "")) or Language.PL
    with runtime.tenant(visitor.company_id) as session:
        actor = load_actor(session, visitor)
        changes = users.UserChanges(language=language)
        users.update_user(session, actor=actor, user_id=actor.id, changes=changes)
    response = redirect(safe_next(str(form.get("next") or "")))
    # The login page after a logout speaks the same language.
    set_language_cookie(response, runtime, language)
    return response
