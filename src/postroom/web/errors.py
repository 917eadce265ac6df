"""Failures as friendly pages in the visitor's language: login needed, forbidden, not found."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from postroom.errors import NotFoundError, PermissionDeniedError
from postroom.web.auth import CsrfError, LoginRequiredError, find_visitor, login_url
from postroom.web.i18n import N_
from postroom.web.rendering import redirect, render

NOT_FOUND = (
    N_("Not found"),
    N_("This page or account does not exist, or you do not have access to it."),
)
FORBIDDEN = (
    N_("Not allowed"),
    N_("You may not do this. Ask a company administrator if you need it."),
)
CSRF_REFUSED = (
    N_("Request refused"),
    N_("The form was not sent from this page or it has expired. Reload the page and try again."),
)


async def error_page(request: Request, status_code: int, text: tuple[str, str]) -> Response:
    title, message = text
    if getattr(request.state, "visitor", None) is None:
        # An unknown path fails before any page looked at the session: look now, so the
        # page has the header and speaks the visitor's language.
        await run_in_threadpool(find_visitor, request)
    return render(
        request, "error.html", {"title": title, "message": message}, status_code=status_code
    )


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequiredError)
    target = login_url(exc.next_path)
    if request.headers.get("HX-Request") == "true":
        # htmx would swap the login page into a fragment; tell it to navigate instead.
        return Response(status_code=204, headers={"HX-Redirect": target})
    return redirect(target)


async def _forbidden(request: Request, _exc: Exception) -> Response:
    return await error_page(request, 403, FORBIDDEN)


async def _csrf(request: Request, _exc: Exception) -> Response:
    return await error_page(request, 403, CSRF_REFUSED)


async def _not_found(request: Request, _exc: Exception) -> Response:
    return await error_page(request, 404, NOT_FOUND)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return await error_page(request, 404, NOT_FOUND)
    if exc.status_code == 405:
        return await error_page(request, 405, NOT_FOUND)
    return Response(status_code=exc.status_code, headers=exc.headers)


def install_error_pages(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequiredError, _login_required)
    app.add_exception_handler(PermissionDeniedError, _forbidden)
    app.add_exception_handler(CsrfError, _csrf)
    app.add_exception_handler(NotFoundError, _not_found)
    # A path parameter that is not a number names nothing that exists.
    app.add_exception_handler(RequestValidationError, _not_found)
    app.add_exception_handler(StarletteHTTPException, _http_error)
