"""An account's health and OAuth2 sign-in as its page shows them: state, server words, buttons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from postroom.db.models import Account
from postroom.enums import AttentionReason, AuthMethod, OAuthProvider
from postroom.mail.oauth import OAuthClientConfig
from postroom.services import oauth
from postroom.web.i18n import N_, Translator

PROVIDER_NAMES = {OAuthProvider.GOOGLE: "Google", OAuthProvider.MICROSOFT: "Microsoft"}
# What came back from the provider (docs/oauth.md): ?oauth=failed&oauth_error=<code>.
OAUTH_ERRORS = {
    "access_denied": N_(
        "You declined the access at the provider, so the account is not connected."
    ),
    "oauth_refused": N_(
        "The provider refused the sign-in. Try again; if it keeps failing, the Postroom operator "
        "should check the OAuth client settings."
    ),
    "oauth_unavailable": N_("The provider could not be reached. Try again in a moment."),
    "oauth_protocol_error": N_(
        "The provider answered in an unexpected way. Try again; if it keeps failing, tell the "
        "Postroom operator."
    ),
    "oauth_no_refresh_token": N_(
        "The provider gave no lasting access. Remove Postroom from the connected apps of your "
        "account at the provider, then connect again."
    ),
    "oauth_not_configured": N_(
        "Signing in with this provider is not configured on this server; ask the Postroom operator."
    ),
}
OAUTH_ERROR_OTHER = N_("The sign-in did not complete ({code}). Try again.")


@dataclass(frozen=True)
class HealthView:
    needs_attention: bool
    reason: str | None  # AttentionReason value
    auth_failures: int
    failures: int
    last_error: str | None  # the server's own words
    last_error_at: datetime | None
    last_success_at: datetime | None
    failing: bool  # the latest attempt failed


@dataclass(frozen=True)
class ProviderButton:
    provider: str
    name: str


@dataclass(frozen=True)
class OAuthView:
    connected: bool
    provider_name: str | None  # who the account is (or was) connected with
    buttons: list[ProviderButton]
    reconnect: bool  # the provider refused the stored access: sign in again
    form_targets: list[str]  # origins the Connect forms redirect to (the page's CSP)


def health_view(account: Account) -> HealthView:
    error_at, success_at = account.last_error_at, account.last_success_at
    return HealthView(
        needs_attention=account.needs_attention,
        reason=account.attention_reason,
        auth_failures=account.consecutive_auth_failures,
        failures=account.consecutive_failures,
        last_error=account.last_error,
        last_error_at=error_at,
        last_success_at=success_at,
        failing=error_at is not None and (success_at is None or error_at > success_at),
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def oauth_view(
    account: Account, configured: Mapping[OAuthProvider, OAuthClientConfig]
) -> OAuthView | None:
    """The sign-in part of the page: for an account that logs in (or should) with OAuth2."""
    uses_oauth = AuthMethod.OAUTH2 in (account.smtp_auth, account.incoming_auth)
    provider = oauth.guess_provider(account)
    if provider is None and not uses_oauth:
        return None  # a password account at another provider: nothing to connect
    offered = [provider] if provider is not None else list(PROVIDER_NAMES)
    usable = [p for p in offered if p in configured]
    return OAuthView(
        connected=account.oauth_refresh_token_encrypted is not None,
        provider_name=PROVIDER_NAMES.get(provider) if provider else None,
        buttons=[ProviderButton(p.value, PROVIDER_NAMES[p]) for p in usable],
        reconnect=account.attention_reason == AttentionReason.OAUTH_RECONNECT.value,
        form_targets=sorted({_origin(configured[p].authorize_url) for p in usable}),
    )


def oauth_outcome(query: Mapping[str, str], translate: Translator) -> tuple[str, str] | None:
    """(kind, message) for the banner after the provider sent the browser back."""
    result = query.get("oauth")
    if result == "connected":
        return "success", translate(N_("The account is connected: Postroom signs in for it now."))
    if result != "failed":
        return None
    code = query.get("oauth_error", "")[:100]
    template = OAUTH_ERRORS.get(code)
    message = translate(template) if template else translate(OAUTH_ERROR_OTHER, code=code or "?")
    return "error", message
