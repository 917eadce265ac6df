"""Pages: the Jinja2 environment (autoescaped), flash messages and the headers every page gets."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from postroom.enums import AttentionReason, Language
from postroom.web.auth import CSRF_FIELD, CSRF_HEADER, Visitor, visitor_language
from postroom.web.i18n import N_, Translator

FLASH_COOKIE = "postroom_flash"
ATTENTION_REASONS = {
    AttentionReason.AUTH_FAILURES.value: N_("the server refuses the login"),
    AttentionReason.OAUTH_RECONNECT.value: N_("sign in with the provider again"),
}

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

# Scripts only from this site, no framing (clickjacking), no plug-ins, forms post only here
# (plus, on a page that offers it, the OAuth2 provider a "Connect" form redirects to).
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",  # pages show account settings: keep them out of shared caches
}
_URL = re.compile(r"https://[^\s()<>\"']+[^\s()<>\"'.,;:]")


def security_headers(form_targets: Sequence[str] = ()) -> dict[str, str]:
    """`form_targets`: origins a form on the page may be redirected to (browsers apply
    form-action to the redirects after a POST, CSP Level 3 §6.4.1)."""
    csp = " ".join((_CSP, *form_targets))
    return {"Content-Security-Policy": csp, **_SECURITY_HEADERS}


def linkify(text: str) -> Markup:
    """Advice text with its https:// links clickable (escaped first; only https is linked)."""
    parts, last = [], 0
    for found in _URL.finditer(text):
        url = found.group(0)
        parts.append(escape(text[last : found.start()]))
        parts.append(
            Markup('<a href="{0}" target="_blank" rel="noopener noreferrer">{0}</a>').format(url)
        )
        last = found.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def duration(milliseconds: int, language: str) -> str:
    """12 ms, or 3.6 s (3,6 s in Polish) from a second on."""
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    seconds = f"{milliseconds / 1000:.1f}"
    return (seconds.replace(".", ",") if language == Language.PL.value else seconds) + " s"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("postroom.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["linkify"] = linkify
    env.filters["duration"] = duration
    return env


def _flash_text(request: Request, translate: Translator) -> str | None:
    raw = request.cookies.get(FLASH_COOKIE, "")
    key, _, number = raw.partition(":")
    if key not in FLASH_MESSAGES:
        return None
    return translate(FLASH_MESSAGES[key], n=int(number) if number.isdigit() else 0)


def render_text(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    language: Language | None = None,
) -> str:
    """A page or fragment in `language`, else the visitor's (their setting, or the login
    page's cookie)."""
    visitor: Visitor | None = getattr(request.state, "visitor", None)
    translate = Translator(language or visitor_language(request))
    return (
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
                "attention_reasons": ATTENTION_REASONS,
                **(context or {}),
            }
        )
    )


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    language: Language | None = None,
    form_targets: Sequence[str] = (),
) -> HTMLResponse:
    page = render_text(request, template, context, language=language)
    headers = security_headers(form_targets)
    response = HTMLResponse(page, status_code=status_code, headers=headers)
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
