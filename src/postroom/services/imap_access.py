"""Logging in to an account's IMAP server for storing mail, and counting the result as health."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from postroom.db.models import Account
from postroom.enums import AuthMethod
from postroom.mail import imap_probe
from postroom.mail.errors import MailError, MissingSecretError, ServerRefusedError
from postroom.mail.imap_probe import ImapSession, MailboxTarget
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.sessions import open_imap
from postroom.services.account_health import FailureKind, record_failure
from postroom.services.account_test import Sides, probe_options, target_of
from postroom.services.oauth_tokens import xoauth2_credentials
from postroom.services.provider_rules import has_imap
from postroom.services.runtime import Runtime

IMAP_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class ImapAccount:
    """What storing mail on an account's IMAP server needs, read from its row."""

    company_id: int
    account_id: int
    target: MailboxTarget
    sent_folder: str | None
    drafts_folder: str | None


def read_imap_account(runtime: Runtime, company_id: int, account_id: int) -> ImapAccount | None:
    """The account's IMAP settings (password decrypted); None if it is gone or has no IMAP."""
    with runtime.tenant(company_id) as session:
        account = session.get(Account, account_id)
        if account is None or not has_imap(account):
            return None
        target = target_of(account, runtime.secret_box, sides=Sides(outgoing=False)).incoming
        if target is None:
            return None
        return ImapAccount(
            company_id, account_id, target, account.sent_folder, account.drafts_folder
        )


async def login(runtime: Runtime, account: ImapAccount) -> ImapSession:
    """Logged in to the account's IMAP server (an OAuth2 token fetched fresh if needed)."""
    target = account.target
    if target.credentials.method is AuthMethod.OAUTH2:
        credentials = await xoauth2_credentials(
            runtime, company_id=account.company_id, account_id=account.account_id, incoming=True
        )
        target = dataclasses.replace(target, credentials=credentials)
    options: ProbeOptions = dataclasses.replace(
        probe_options(runtime.settings), timeout_seconds=IMAP_TIMEOUT_SECONDS
    )
    return await open_imap(target, options)


async def logout(session: ImapSession) -> None:
    await imap_probe.close_session(session)


def _record(runtime: Runtime, account: ImapAccount, exc: Exception) -> None:
    with runtime.tenant(account.company_id) as session:
        row = session.get(Account, account.account_id)
        if row is None:
            return
        refused_login = isinstance(exc, MissingSecretError) or (
            isinstance(exc, ServerRefusedError) and exc.command.startswith("login")
        )
        record_failure(
            row,
            kind=FailureKind.AUTH if refused_login else FailureKind.CONNECTION,
            server_words=str(exc) or type(exc).__name__,
            auth_failure_limit=runtime.settings.account_auth_failure_limit,
        )


async def record_imap_failure(runtime: Runtime, account: ImapAccount, exc: Exception) -> None:
    """Count a failed IMAP connection or login in the account's health."""
    if isinstance(exc, MailError | OSError | TimeoutError):
        await asyncio.to_thread(_record, runtime, account, exc)
