"""Pages: the Jinja2 environment (autoescaped), flash messages and the headers every page gets."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from postroom.enums import Language
from postroom.web.auth import CSRF_FIELD, CSRF_HEADER, Visitor, visitor_language
from postroom.web.i18n import N_, Translator

FLASH_COOKIE = "postroom_flash"

# Only these can be flashed: the cookie names a message, it never carries text to show.
FLASH_MESSAGES = {
    "saved": N_("Saved"),
    "created": N_("Account created"),
    "deleted": N_("Account deleted"),
    "bulk_one": N_("Settings changed on 1 account"),
    "bulk_many": N_("Settings changed on {n} accounts"),
    "language": N_("Language changed"),
    "logged_out": N_("You have been logged out"),
}

# Scripts only from this site, no framing (clickjacking), no plug-ins, forms post only here.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",  # pages show account settings: keep them out of shared caches
}


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("postroom.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _flash_text(request: Request, translate: Translator) -> str | None:
    raw = request.cookies.get(FLASH_COOKIE, "")
    key, _, number = raw.partition(":")
    if key not in FLASH_MESSAGES:
        return None
    return translate(FLASH_MESSAGES[key], n=int(number) if number.isdigit() else 0)


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    language: Language | None = None,
) -> HTMLResponse:
    """The page in `language`, else the visitor's (their setting, or the login page's cookie)."""
    visitor: Visitor | None = getattr(request.state, "visitor", None)
    translate = Translator(language or visitor_language(request))
    page = (
        environment()
        .get_template(template)
        .render(
            {
                "_": translate,
                "lang": translate.language.value,
                "visitor": visitor,
                "csrf_field": CSRF_FIELD,
                "csrf_headers": {CSRF_HEADER: visitor.csrf_token} if visitor else {},
                "current_path": request.url.path,
                "current_url": _current_url(request),
                "flash": _flash_text(request, translate),
                **(context or {}),
            }
        )
    )
    response = HTMLResponse(page, status_code=status_code, headers=_SECURITY_HEADERS)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def _current_url(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def redirect(url: str, *, flash: str | None = None) -> RedirectResponse:
    """303 See Other: the browser follows with GET, so a reload never repeats a POST."""
    response = RedirectResponse(url, status_code=303)
    if flash is not None:
        response.set_cookie(
            FLASH_COOKIE, flash, max_age=60, path="/", httponly=True, samesite="lax"
        )
    return response


def flash_key_for_bulk(count: int) -> str:
    return "bulk_one" if count == 1 else f"bulk_many:{count}"
