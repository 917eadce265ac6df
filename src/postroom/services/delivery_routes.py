"""Where a message goes out: its account's SMTP server, or the platform relay (B5)."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from postroom.autoconfig.presets import Preset
from postroom.db.models import Account
from postroom.enums import AuthMethod
from postroom.errors import NotFoundError
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.smtp_probe import SmtpTarget
from postroom.services.account_test import Sides, probe_options, target_of
from postroom.services.oauth_tokens import xoauth2_credentials
from postroom.services.outbox import ClaimedMessage
from postroom.services.provider_rules import needs_sent_copy
from postroom.services.relay import relay_target
from postroom.services.runtime import Runtime

ACCOUNT_GONE = (
    "The account this message was to be sent from has been deleted, so it cannot be sent. "
    "Send it again from another account."
)


@dataclass(frozen=True)
class RouteKey:
    """Messages with one key share connections: one account, or the relay (no company)."""

    company_id: int | None
    account_id: int | None

    @property
    def relay(self) -> bool:
        return self.account_id is None


def route_of(message: ClaimedMessage) -> RouteKey | None:
    """The route of a message; None when its account was deleted (it cannot be sent)."""
    if message.via_relay:
        return RouteKey(None, None)
    if message.account_id is None:
        return None
    return RouteKey(message.company_id, message.account_id)


@dataclass(frozen=True)
class RouteInfo:
    """How to connect, and what to do after a successful send."""

    target: SmtpTarget
    options: ProbeOptions
    sent_copy_needed: bool


def _account_target(
    runtime: Runtime, key: RouteKey, presets: tuple[Preset, ...] | None
) -> tuple[SmtpTarget, bool]:
    assert key.company_id is not None and key.account_id is not None
    with runtime.tenant(key.company_id) as session:
        account = session.get(Account, key.account_id)
        if account is None:
            raise NotFoundError(ACCOUNT_GONE)
        target = target_of(account, runtime.secret_box, sides=Sides(incoming=False)).outgoing
        assert target is not None
        return target, needs_sent_copy(account, presets)


async def load_route(
    runtime: Runtime,
    key: RouteKey,
    *,
    timeout: float,
    presets: tuple[Preset, ...] | None = None,
) -> RouteInfo:
    """Read the account's settings (secrets decrypted, OAuth2 token fresh) or the relay's."""
    if key.relay:
        relay = relay_target(runtime.settings)
        target = SmtpTarget(relay.endpoint, relay.credentials, relay.envelope_from)
        return RouteInfo(target, ProbeOptions(relay.network, timeout), sent_copy_needed=False)
    target, copy = await asyncio.to_thread(_account_target, runtime, key, presets)
    if target.credentials.method is AuthMethod.OAUTH2:
        assert key.company_id is not None and key.account_id is not None
        credentials = await xoauth2_credentials(
            runtime, company_id=key.company_id, account_id=key.account_id
        )
        target = dataclasses.replace(target, credentials=credentials)
    options = dataclasses.replace(probe_options(runtime.settings), timeout_seconds=timeout)
    return RouteInfo(target, options, sent_copy_needed=copy)
