"""Access tokens for XOAUTH2 logins: refreshed before they expire, "reconnect" when refused."""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.enums import AttentionReason, AuthMethod, OAuthProvider
from postroom.errors import ConflictError, NotFoundError
from postroom.mail.credentials import Credentials
from postroom.mail.oauth import (
    OAuthNetworkError,
    RefreshRejectedError,
    TokenSet,
    refresh_access_token,
)
from postroom.secrets import Secret
from postroom.services.oauth import configured_providers, http_client, save_tokens
from postroom.services.runtime import Runtime

log = logging.getLogger("postroom.oauth")

# Refresh this long before the provider's expiry, so a login or a long send never starts with a
# token that runs out half-way.
REFRESH_MARGIN = timedelta(minutes=5)
# One refresh per account at a time in this process: with rotating refresh tokens a second,
# parallel refresh would present the token the first one just used up, and get invalid_grant.
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


class OAuthNotConnectedError(ConflictError):
    """The account has no OAuth2 connection: sign in with its provider first."""

    code = "oauth_not_connected"


class OAuthReconnectError(OAuthNotConnectedError):
    """The provider refused the stored sign-in; a person must sign in again."""

    code = "oauth_reconnect"


@dataclass(frozen=True)
class _Stored:
    provider: OAuthProvider
    refresh_encrypted: str  # also tells whether another worker changed it meanwhile
    access: Secret | None
    expires_at: datetime | None
    smtp_username: str
    incoming_username: str

    def access_valid_for(self, now: datetime, margin: timedelta) -> Secret | None:
        """The stored access token if it is good for longer than `margin`."""
        if self.access is None or self.expires_at is None or self.expires_at - now <= margin:
            return None
        return self.access


async def get_access_token(
    runtime: Runtime,
    *,
    company_id: int,
    account_id: int,
    http: httpx.AsyncClient | None = None,
    now: datetime | None = None,
    margin: timedelta = REFRESH_MARGIN,
) -> Secret:
    """A usable access token: the stored one, or a new one (persisted) when it is near expiry.

    Raises OAuthReconnectError when the provider refuses the refresh token (the account is then
    marked "needs attention"), OAuthNetworkError when the provider cannot be reached and the
    stored token has already expired.
    """
    _, token = await _access_token(runtime, company_id, account_id, http, now, margin)
    return token


async def xoauth2_credentials(
    runtime: Runtime,
    *,
    company_id: int,
    account_id: int,
    incoming: bool = False,
    http: httpx.AsyncClient | None = None,
    now: datetime | None = None,
) -> Credentials:
    """What an SMTP (or, with `incoming`, IMAP/POP3) adapter logs in with for this account."""
    stored, token = await _access_token(runtime, company_id, account_id, http, now, REFRESH_MARGIN)
    username = stored.incoming_username if incoming else stored.smtp_username
    return Credentials(method=AuthMethod.OAUTH2, username=username, secret=token)


async def _access_token(
    runtime: Runtime,
    company_id: int,
    account_id: int,
    http: httpx.AsyncClient | None,
    now: datetime | None,
    margin: timedelta,
) -> tuple[_Stored, Secret]:
    now = now or utcnow()
    async with _lock(account_id):
        stored = await asyncio.to_thread(_load, runtime, company_id, account_id)
        access = stored.access_valid_for(now, margin)
        if access is not None:
            return stored, access
        tokens = await _refresh(runtime, company_id, account_id, stored, http, now)
        if isinstance(tokens, Secret):
            return stored, tokens
        await asyncio.to_thread(_save, runtime, company_id, account_id, tokens, now)
    log.info("oauth access token refreshed", extra={"account_id": account_id})
    return stored, tokens.access_token


def _lock(account_id: int) -> asyncio.Lock:
    locks = _locks.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(account_id, asyncio.Lock())


async def _refresh(
    runtime: Runtime,
    company_id: int,
    account_id: int,
    stored: _Stored,
    http: httpx.AsyncClient | None,
    now: datetime,
) -> TokenSet | Secret:
    config = configured_providers(runtime.settings).get(stored.provider)
    if config is None:
        raise OAuthNotConnectedError(
            f"Account {account_id} is connected with {stored.provider.value.title()}, "
            "which is no longer configured on this server."
        )
    refresh_token = runtime.secret_box.decrypt(stored.refresh_encrypted)
    try:
        async with http_client(http) as client:
            return await refresh_access_token(client, config, refresh_token=refresh_token)
    except RefreshRejectedError as exc:
        other = await asyncio.to_thread(_reject, runtime, company_id, account_id, stored, exc, now)
        if other is None:
            raise OAuthReconnectError(exc.message) from exc
        return other
    except OAuthNetworkError:
        # Refreshing early failed, but the token we have still works for a while: use it.
        access = stored.access_valid_for(now, timedelta(0))
        if access is None:
            raise
        log.warning(
            "oauth refresh failed; using the current token", extra={"account_id": account_id}
        )
        return access


def _existing(account: Account | None, account_id: int) -> Account:
    if account is None:
        raise NotFoundError(f"Account {account_id} does not exist.")
    return account


def _load(runtime: Runtime, company_id: int, account_id: int) -> _Stored:
    with runtime.tenant(company_id) as session:
        account = _existing(session.get(Account, account_id), account_id)
        if account.needs_attention and account.attention_reason == AttentionReason.OAUTH_RECONNECT:
            # Asking again with a refused token only risks the provider's rate limits.
            raise OAuthReconnectError(
                account.last_error or f"Account {account_id} must be signed in to again."
            )
        if account.oauth_refresh_token_encrypted is None or account.oauth_provider is None:
            raise OAuthNotConnectedError(
                f"Account {account_id} is not connected with OAuth2; sign in with its provider."
            )
        box = runtime.secret_box
        access = account.oauth_access_token_encrypted
        return _Stored(
            provider=OAuthProvider(account.oauth_provider),
            refresh_encrypted=account.oauth_refresh_token_encrypted,
            access=box.decrypt(access) if access else None,
            expires_at=account.oauth_expires_at,
            smtp_username=account.smtp_username,
            incoming_username=account.incoming_username,
        )


def _save(
    runtime: Runtime, company_id: int, account_id: int, tokens: TokenSet, now: datetime
) -> None:
    with runtime.tenant(company_id) as session:
        account = _existing(session.get(Account, account_id), account_id)
        save_tokens(account, tokens, runtime.secret_box, now)


def _reject(
    runtime: Runtime,
    company_id: int,
    account_id: int,
    stored: _Stored,
    exc: RefreshRejectedError,
    now: datetime,
) -> Secret | None:
    """Mark the account "reconnect" — unless another worker rotated the token meanwhile."""
    with runtime.tenant(company_id) as session:
        account = _existing(session.get(Account, account_id), account_id)
        current = account.oauth_refresh_token_encrypted
        if current is not None and current != stored.refresh_encrypted:
            access = account.oauth_access_token_encrypted
            # Our token was the old one of a rotation (RFC 6749 §6), not a revoked grant.
            if access is not None:
                return runtime.secret_box.decrypt(access)
        mark_reconnect_needed(account, exc.message, now)
    log.warning(
        "oauth refresh refused; account needs reconnecting",
        extra={"account_id": account_id, "error": exc.error},
    )
    return None


def mark_reconnect_needed(account: Account, message: str, now: datetime) -> None:
    """The "reconnect this account" state: fetching pauses until someone signs in again."""
    account.needs_attention = True
    account.attention_reason = AttentionReason.OAUTH_RECONNECT.value
    account.last_error = message
    account.last_error_at = now
    # A refused grant is useless; keeping it would only invite more refused requests.
    account.oauth_refresh_token_encrypted = None
    account.oauth_access_token_encrypted = None
    account.oauth_expires_at = None
