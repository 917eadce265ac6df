"""OAuth2 sign-in of an account with Google or Microsoft: start it, and the provider's callback."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from postroom.api.deps import CallerDep, get_runtime
from postroom.api.schemas import Strict
from postroom.enums import OAuthProvider
from postroom.services import oauth

router = APIRouter(tags=["oauth"])

# Where the providers send the browser back; registered with them as the redirect URI.
CALLBACK_PATH = "/api/v1/oauth/callback"


class OAuthStart(Strict):
    provider: OAuthProvider | None = Field(
        default=None,
        description="Default: the account's provider, else the one its server names point to.",
    )
    use_for_smtp: bool = Field(default=True, description="Send with XOAUTH2 once connected.")
    use_for_incoming: bool = Field(
        default=True, description="Fetch (IMAP/POP3) with XOAUTH2 once connected."
    )


class OAuthStarted(BaseModel):
    authorization_url: str = Field(
        description="Send the user's browser here; it comes back to /api/v1/oauth/callback."
    )


@router.post("/accounts/{account_id}/oauth/start", response_model=OAuthStarted)
def start_oauth(account_id: int, caller: CallerDep, body: OAuthStart | None = None) -> OAuthStarted:
    """Begin connecting the account (authorization code with PKCE); for whoever may edit it."""
    body = body or OAuthStart()
    settings = caller.runtime.settings
    with caller.begin() as tx:
        url = oauth.start_flow(
            tx.session,
            actor=tx.actor,
            account_id=account_id,
            providers=oauth.configured_providers(settings),
            box=caller.runtime.secret_box,
            redirect_uri=settings.effective_public_url + CALLBACK_PATH,
            provider=body.provider,
            use_for_smtp=body.use_for_smtp,
            use_for_incoming=body.use_for_incoming,
            lifetime=timedelta(minutes=settings.oauth_flow_minutes),
        )
    return OAuthStarted(authorization_url=url)


@router.get("/oauth/callback", response_class=HTMLResponse)
async def oauth_callback(
    request: Request,
    state: Annotated[str, Query(max_length=512)] = "",
    code: Annotated[str | None, Query(max_length=4096)] = None,
    error: Annotated[str | None, Query(max_length=200, pattern=r"^[\x20-\x7e]*$")] = None,
) -> Response:
    """The browser lands here after consent. `state` identifies the sign-in (no API token).

    Redirects to the account's page in the web UI with `oauth=connected`, or `oauth=failed`
    and `oauth_error=<code>`; an unknown or expired `state` gets a short page saying so.
    """
    runtime = get_runtime(request)
    outcome = await oauth.finish_flow(runtime, state=state, code=code, error=error)
    if outcome.account_id is None:
        page = _page(outcome.message, runtime.settings.effective_public_url)
        return HTMLResponse(page, status_code=400)
    query = (
        {"oauth": "connected"}
        if outcome.connected
        else {"oauth": "failed", "oauth_error": outcome.error or "oauth_error"}
    )
    base = runtime.settings.effective_public_url
    return RedirectResponse(
        f"{base}/accounts/{outcome.account_id}?{urlencode(query)}", status_code=303
    )


def _page(message: str, base: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Postroom</title></head>'
        f"<body><h1>Postroom</h1><p>{html.escape(message)}</p>"
        f'<p><a href="{html.escape(base)}/accounts">Accounts</a></p></body></html>'
    )
