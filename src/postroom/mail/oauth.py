"""OAuth 2.0 authorization-code flow with PKCE for mail providers (RFC 6749, RFC 7636)."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from postroom.enums import OAuthProvider
from postroom.errors import PostroomError
from postroom.secrets import Secret

log = logging.getLogger("postroom.mail.oauth")

GOOGLE_AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105  (a URL, not a secret)
# One scope covers IMAP, POP3 and SMTP (developers.google.com/gmail/imap/xoauth2-protocol).
GOOGLE_SCOPES = ("https://mail.google.com/",)
MICROSOFT_AUTHORIZE_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"
MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"  # noqa: S105
# outlook.office.com resource scopes; Graph URIs do not work for IMAP/POP/SMTP.
# offline_access is what makes Microsoft issue a refresh token.
MICROSOFT_SCOPES = (
    "https://outlook.office.com/IMAP.AccessAsUser.All",
    "https://outlook.office.com/POP.AccessAsUser.All",
    "https://outlook.office.com/SMTP.Send",
    "offline_access",
)
# Google issues a refresh token only for offline access, and again only when consent is shown.
_GOOGLE_EXTRA = (("access_type", "offline"), ("prompt", "consent"))
TIMEOUT_SECONDS = 15.0


class OAuthError(PostroomError):
    """An OAuth 2.0 exchange with a provider failed."""

    code = "oauth_error"


class OAuthNetworkError(OAuthError, ConnectionError):
    """The token endpoint could not be reached or answered 5xx: temporary, try again later."""

    code = "oauth_unavailable"


class OAuthProtocolError(OAuthError):
    """The token endpoint answered something RFC 6749 §5 does not allow."""

    code = "oauth_protocol_error"


class TokenRequestError(OAuthError):
    """The token endpoint refused the request with an RFC 6749 §5.2 error code."""

    code = "oauth_refused"

    def __init__(self, message: str, *, error: str, description: str = "") -> None:
        super().__init__(message)
        self.error = error
        self.description = description


class RefreshRejectedError(TokenRequestError):
    """invalid_grant on refresh (RFC 6749 §5.2): the grant is revoked or expired; reconnect."""

    code = "oauth_reconnect"


@dataclass(frozen=True)
class OAuthClientConfig:
    """One provider as this deployment uses it: endpoints, scopes and the registered client."""

    provider: OAuthProvider
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    client_id: str
    client_secret: Secret | None = None
    extra_authorize_params: tuple[tuple[str, str], ...] = ()


def provider_config(
    provider: OAuthProvider,
    *,
    client_id: str,
    client_secret: Secret | None,
    tenant: str = "common",
    authorize_url: str | None = None,
    token_url: str | None = None,
    scopes: tuple[str, ...] | None = None,
) -> OAuthClientConfig:
    """The provider's public endpoints and scopes, each replaceable (sovereign clouds, tests)."""
    google = provider is OAuthProvider.GOOGLE
    default_authorize = GOOGLE_AUTHORIZE_URL if google else MICROSOFT_AUTHORIZE_URL
    default_token = GOOGLE_TOKEN_URL if google else MICROSOFT_TOKEN_URL
    return OAuthClientConfig(
        provider=provider,
        authorize_url=(authorize_url or default_authorize).replace("{tenant}", tenant),
        token_url=(token_url or default_token).replace("{tenant}", tenant),
        scopes=scopes or (GOOGLE_SCOPES if google else MICROSOFT_SCOPES),
        client_id=client_id,
        client_secret=client_secret,
        extra_authorize_params=_GOOGLE_EXTRA if google else (),
    )


@dataclass(frozen=True)
class Pkce:
    """RFC 7636 proof key: the verifier stays with us, the challenge goes to the provider."""

    verifier: Secret
    challenge: str
    method: str = "S256"


def new_pkce() -> Pkce:
    # §4.1: 43–128 unreserved characters with enough entropy; 64 random bytes give 86.
    verifier = secrets.token_urlsafe(64)
    return Pkce(verifier=Secret(verifier), challenge=s256_challenge(verifier))


def s256_challenge(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state() -> str:
    """An unguessable `state` value binding the callback to this flow (RFC 6749 §10.12)."""
    return secrets.token_urlsafe(32)


def authorization_url(
    config: OAuthClientConfig,
    *,
    redirect_uri: str,
    state: str,
    code_challenge: str,
    login_hint: str | None = None,
) -> str:
    """Where to send the user's browser for consent (RFC 6749 §4.1.1, RFC 7636 §4.3)."""
    params = [
        ("response_type", "code"),
        ("client_id", config.client_id),
        ("redirect_uri", redirect_uri),
        ("scope", " ".join(config.scopes)),
        ("state", state),
        ("code_challenge", code_challenge),
        ("code_challenge_method", "S256"),
        *config.extra_authorize_params,
    ]
    if login_hint:  # both providers pre-fill the account chooser with it
        params.append(("login_hint", login_hint))
    separator = "&" if "?" in config.authorize_url else "?"
    return config.authorize_url + separator + urlencode(params, quote_via=quote)


def new_http_client() -> httpx.AsyncClient:
    """A client for token requests: bounded in time, and never following a redirect, which
    would carry the client secret and the code to wherever it points."""
    return httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)


@dataclass(frozen=True)
class TokenSet:
    """A successful token response (RFC 6749 §5.1); tokens only as `Secret`."""

    access_token: Secret
    expires_in: int | None
    refresh_token: Secret | None
    scope: str | None


async def exchange_code(
    http: httpx.AsyncClient,
    config: OAuthClientConfig,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: Secret,
) -> TokenSet:
    """Trade the authorization code for tokens (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        # Must be identical to the one in the authorization request (§4.1.3).
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier.reveal(),
    }
    return await _token_request(http, config, form)


async def refresh_access_token(
    http: httpx.AsyncClient, config: OAuthClientConfig, *, refresh_token: Secret
) -> TokenSet:
    """A new access token from the refresh token (RFC 6749 §6); the scope stays as granted."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token.reveal()}
    try:
        return await _token_request(http, config, form)
    except TokenRequestError as exc:
        if exc.error != "invalid_grant":
            raise
        raise RefreshRejectedError(
            f"{_provider_label(config)} no longer accepts this account's sign-in "
            f"({_server_words(exc.error, exc.description)}); sign in again to reconnect it.",
            error=exc.error,
            description=exc.description,
        ) from exc


async def _token_request(
    http: httpx.AsyncClient, config: OAuthClientConfig, form: dict[str, str]
) -> TokenSet:
    # Client credentials in the body (RFC 6749 §2.3.1 allows it; Google's and Microsoft's
    # documentation both show it); a public client (no secret) sends only client_id (§3.2.1).
    form = {**form, "client_id": config.client_id}
    if config.client_secret is not None:
        form["client_secret"] = config.client_secret.reveal()
    label = _provider_label(config)
    try:
        response = await http.post(
            config.token_url,
            data=form,
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise OAuthNetworkError(
            f"{label}'s token endpoint could not be reached ({type(exc).__name__}); "
            "try again later."
        ) from exc
    log.debug(
        "token endpoint answered",
        extra={
            "provider": config.provider.value,
            "grant_type": form["grant_type"],
            "status": response.status_code,
        },
    )
    return _parse_token_response(label, response)


def _parse_token_response(label: str, response: httpx.Response) -> TokenSet:
    if response.status_code >= 500 or response.status_code == 429:
        raise OAuthNetworkError(
            f"{label}'s token endpoint is unavailable (HTTP {response.status_code}); "
            "try again later."
        )
    body = _json_object(label, response)
    if response.status_code == 200:
        return _token_set(label, body)
    error = body.get("error")
    if not isinstance(error, str):  # §5.2: an error response always names the error
        raise OAuthProtocolError(
            f"{label}'s token endpoint answered HTTP {response.status_code} without an error code."
        )
    description = body.get("error_description")
    description = description if isinstance(description, str) else ""
    raise TokenRequestError(
        f"{label} refused the token request ({_server_words(error, description)}).",
        error=error,
        description=description,
    )


def _json_object(label: str, response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise OAuthProtocolError(
            f"{label}'s token endpoint answered HTTP {response.status_code} with something "
            "that is not JSON."
        ) from exc
    if not isinstance(body, dict):
        raise OAuthProtocolError(f"{label}'s token endpoint answered JSON that is not an object.")
    return body


def _token_set(label: str, body: dict[str, Any]) -> TokenSet:
    access, token_type = body.get("access_token"), body.get("token_type")
    if not isinstance(access, str) or not access:
        raise OAuthProtocolError(f"{label}'s token response has no access_token.")
    # §7.1 and RFC 6750: XOAUTH2 sends the token as "Bearer"; type names are case-insensitive.
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise OAuthProtocolError(f"{label} issued a token of type {token_type!r}, not Bearer.")
    refresh, scope = body.get("refresh_token"), body.get("scope")
    return TokenSet(
        access_token=Secret(access),
        expires_in=_seconds(body.get("expires_in")),
        refresh_token=Secret(refresh) if isinstance(refresh, str) and refresh else None,
        scope=scope if isinstance(scope, str) else None,
    )


def _seconds(value: object) -> int | None:
    # A number per §5.1; some servers (Azure AD v1) send it as a string.
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return max(0, int(value))
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _server_words(error: str, description: str) -> str:
    return f"{error}: {description}" if description else error


def _provider_label(config: OAuthClientConfig) -> str:
    return {OAuthProvider.GOOGLE: "Google", OAuthProvider.MICROSOFT: "Microsoft"}[config.provider]
