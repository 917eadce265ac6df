"""Connecting an account with Google or Microsoft: start the OAuth2 sign-in, finish it (A3)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from pydantic import SecretStr
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.base import utcnow
from postroom.db.models import Account, OAuthFlow, User
from postroom.enums import AuthMethod, IncomingProtocol, OAuthProvider
from postroom.errors import PermissionDeniedError, ValidationError
from postroom.mail.oauth import (
    OAuthClientConfig,
    OAuthError,
    TokenSet,
    authorization_url,
    exchange_code,
    new_http_client,
    new_pkce,
    new_state,
    provider_config,
)
from postroom.secrets import Secret, SecretBox
from postroom.services import access, accounts, history
from postroom.services.runtime import Runtime

log = logging.getLogger("postroom.oauth")

# When a provider omits expires_in (RFC 6749 §5.1 only RECOMMENDS it), assume an hour.
DEFAULT_TOKEN_LIFETIME = timedelta(hours=1)
# Host name endings that tell the provider when the account does not say (A5 presets).
_PROVIDER_HOSTS = {
    OAuthProvider.GOOGLE: ("gmail.com", "googlemail.com", "google.com"),
    OAuthProvider.MICROSOFT: ("office365.com", "outlook.com", "office.com", "hotmail.com"),
}
HISTORY_FIELD = "oauth_connection"


def configured_providers(settings: Settings) -> dict[OAuthProvider, OAuthClientConfig]:
    """The providers this deployment has a registered client for (POSTROOM_*_CLIENT_ID)."""
    configs: dict[OAuthProvider, OAuthClientConfig] = {}
    if settings.google_client_id:
        configs[OAuthProvider.GOOGLE] = provider_config(
            OAuthProvider.GOOGLE,
            client_id=settings.google_client_id,
            client_secret=_secret(settings.google_client_secret),
            authorize_url=settings.google_authorize_url,
            token_url=settings.google_token_url,
        )
    if settings.microsoft_client_id:
        scopes = settings.microsoft_scopes
        configs[OAuthProvider.MICROSOFT] = provider_config(
            OAuthProvider.MICROSOFT,
            client_id=settings.microsoft_client_id,
            client_secret=_secret(settings.microsoft_client_secret),
            tenant=settings.microsoft_tenant,
            authorize_url=settings.microsoft_authorize_url,
            token_url=settings.microsoft_token_url,
            scopes=tuple(scopes.split()) if scopes else None,
        )
    return configs


def _secret(value: SecretStr | None) -> Secret | None:
    return Secret(value.get_secret_value()) if value is not None else None


def http_client(given: httpx.AsyncClient | None) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """The caller's client as is (not closed here), or a new one closed after use."""
    return nullcontext(given) if given is not None else new_http_client()


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def guess_provider(account: Account) -> OAuthProvider | None:
    """The account's provider, or the one its server names point to (smtp.gmail.com…)."""
    if account.oauth_provider:
        return OAuthProvider(account.oauth_provider)
    hosts = [h.lower().rstrip(".") for h in (account.smtp_host, account.incoming_host) if h]
    for provider, suffixes in _PROVIDER_HOSTS.items():
        if any(h == s or h.endswith("." + s) for h in hosts for s in suffixes):
            return provider
    return None


def start_flow(
    session: Session,
    *,
    actor: User,
    account_id: int,
    providers: Mapping[OAuthProvider, OAuthClientConfig],
    box: SecretBox,
    redirect_uri: str,
    provider: OAuthProvider | None = None,
    use_for_smtp: bool = True,
    use_for_incoming: bool = True,
    lifetime: timedelta = timedelta(minutes=10),
    now: datetime | None = None,
) -> str:
    """Remember a new sign-in for the account; the URL to send the user's browser to."""
    account = accounts.get_account(session, actor=actor, account_id=account_id)
    if not access.can_edit(actor, account):
        raise PermissionDeniedError(
            "Only a company administrator or the account's owner may connect it."
        )
    chosen = provider or guess_provider(account)
    config = providers.get(chosen) if chosen else None
    if chosen is None or config is None:
        raise ValidationError.for_field(
            "provider",
            f"Signing in with {chosen.value.title()} is not configured on this server."
            if chosen
            else "Say which provider to sign in with: google or microsoft.",
            "oauth_not_configured" if chosen else "required",
        )
    now = now or utcnow()
    # Abandoned sign-ins of this company go when a new one starts: nothing else needs them.
    session.execute(delete(OAuthFlow).where(OAuthFlow.expires_at <= now))
    pkce, state = new_pkce(), new_state()
    session.add(
        OAuthFlow(
            company_id=account.company_id,
            account_id=account.id,
            user_id=actor.id,
            provider=chosen,
            state_hash=state_hash(state),
            code_verifier_encrypted=box.encrypt(pkce.verifier),
            redirect_uri=redirect_uri,
            use_for_smtp=use_for_smtp,
            use_for_incoming=use_for_incoming,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    log.info(
        "oauth sign-in started",
        extra={"account_id": account.id, "provider": chosen.value, "user_id": actor.id},
    )
    return authorization_url(
        config,
        redirect_uri=redirect_uri,
        state=state,
        code_challenge=pkce.challenge,
        login_hint=account.smtp_username or account.email_address,
    )


@dataclass(frozen=True)
class FlowOutcome:
    """How a callback ended. No account when the state is unknown, used or expired."""

    account_id: int | None
    connected: bool
    error: str | None = None  # a stable code: access_denied, oauth_refused, …
    message: str = ""


@dataclass(frozen=True)
class _ClaimedFlow:
    company_id: int
    account_id: int
    user_id: int
    provider: OAuthProvider
    code_verifier: Secret
    redirect_uri: str
    use_for_smtp: bool
    use_for_incoming: bool


_UNKNOWN_STATE = FlowOutcome(
    None,
    False,
    "oauth_unknown_state",
    "This sign-in link is unknown, was already used or has expired; "
    "start again from the account's page.",
)


async def finish_flow(
    runtime: Runtime,
    *,
    state: str,
    code: str | None,
    error: str | None = None,
    http: httpx.AsyncClient | None = None,
    now: datetime | None = None,
) -> FlowOutcome:
    """The provider sent the browser back (RFC 6749 §4.1.2): trade the code, store the tokens.

    `state` is the credential here, not a bearer token: it names one flow, which is used once.
    """
    now = now or utcnow()
    claimed = await asyncio.to_thread(_claim_flow, runtime, state, now)
    if claimed is None:
        return _UNKNOWN_STATE
    if error or not code:  # §4.1.2.1, e.g. the user declined consent: access_denied
        reason = error or "invalid_request"
        return FlowOutcome(claimed.account_id, False, reason, f"The sign-in ended: {reason}.")
    config = configured_providers(runtime.settings).get(claimed.provider)
    if config is None:
        message = f"Signing in with {claimed.provider.value.title()} is no longer configured."
        return FlowOutcome(claimed.account_id, False, "oauth_not_configured", message)
    try:
        async with http_client(http) as client:
            tokens = await exchange_code(
                client,
                config,
                code=code,
                redirect_uri=claimed.redirect_uri,
                code_verifier=claimed.code_verifier,
            )
    except OAuthError as exc:
        log.warning(
            "oauth code exchange failed",
            extra={"account_id": claimed.account_id, "error": exc.code, "detail": exc.message},
        )
        return FlowOutcome(claimed.account_id, False, exc.code, exc.message)
    if tokens.refresh_token is None:
        return FlowOutcome(
            claimed.account_id,
            False,
            "oauth_no_refresh_token",
            "The provider gave no refresh token, so the connection would stop working within "
            "the hour; remove Postroom from the account's connected apps and sign in again.",
        )
    stored = await asyncio.to_thread(_store_connection, runtime, claimed, tokens, now)
    if not stored:
        return FlowOutcome(None, False, "not_found", "The account no longer exists.")
    return FlowOutcome(claimed.account_id, True)


def _claim_flow(runtime: Runtime, state: str, now: datetime) -> _ClaimedFlow | None:
    # Across companies: the callback has no caller, only the state; once found, every further
    # step runs in the flow's own company.
    with runtime.platform() as session:
        flow = session.scalar(select(OAuthFlow).where(OAuthFlow.state_hash == state_hash(state)))
        if flow is None:
            return None
        # Used once: a replayed or forged callback finds nothing (RFC 6749 §10.12).
        session.delete(flow)
        if flow.expires_at <= now:
            return None
        return _ClaimedFlow(
            company_id=flow.company_id,
            account_id=flow.account_id,
            user_id=flow.user_id,
            provider=flow.provider,
            code_verifier=runtime.secret_box.decrypt(flow.code_verifier_encrypted),
            redirect_uri=flow.redirect_uri,
            use_for_smtp=flow.use_for_smtp,
            use_for_incoming=flow.use_for_incoming,
        )


def _store_connection(
    runtime: Runtime, claimed: _ClaimedFlow, tokens: TokenSet, now: datetime
) -> bool:
    with runtime.tenant(claimed.company_id) as session:
        account = session.get(Account, claimed.account_id)
        if account is None:
            return False
        before = history.snapshot(account)
        was_connected = account.oauth_refresh_token_encrypted is not None
        save_tokens(account, tokens, runtime.secret_box, now)
        account.oauth_provider = claimed.provider.value
        if claimed.use_for_smtp:
            account.smtp_auth = AuthMethod.OAUTH2
        if claimed.use_for_incoming and account.incoming_protocol is not IncomingProtocol.NONE:
            account.incoming_auth = AuthMethod.OAUTH2
        # A fresh consent ends a "reconnect" state, and any run of failed logins.
        account.needs_attention = False
        account.attention_reason = None
        account.consecutive_auth_failures = 0
        changes = history.diff(before, history.snapshot(account))
        change = "changed" if was_connected else "set"
        changes.append({"field": HISTORY_FIELD, "secret": True, "change": change})
        actor = session.get(User, claimed.user_id)
        history.record(session, account=account, actor=actor, action="updated", changes=changes)
    log.info(
        "oauth account connected",
        extra={"account_id": claimed.account_id, "provider": claimed.provider.value},
    )
    return True


def save_tokens(account: Account, tokens: TokenSet, box: SecretBox, now: datetime) -> None:
    """Store a token response encrypted (A12). `now` is when the request was sent."""
    account.oauth_access_token_encrypted = box.encrypt(tokens.access_token)
    lifetime = (
        timedelta(seconds=tokens.expires_in)
        if tokens.expires_in is not None
        else DEFAULT_TOKEN_LIFETIME
    )
    account.oauth_expires_at = now + lifetime
    # RFC 6749 §6: a new refresh token replaces the old one, which the client MUST discard.
    if tokens.refresh_token is not None:
        account.oauth_refresh_token_encrypted = box.encrypt(tokens.refresh_token)
