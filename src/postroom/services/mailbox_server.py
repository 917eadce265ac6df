"""Sessions on an account's incoming server for mailbox changes, and their errors in plain words."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from postroom.db.models import Account
from postroom.errors import ConflictError
from postroom.mail.errors import MailError, ServerRefusedError
from postroom.mail.imap_probe import ImapSession, MailboxTarget
from postroom.secrets import SecretBox
from postroom.services.account_test import Sides, target_of
from postroom.services.imap_access import ImapAccount, login, logout, record_imap_failure
from postroom.services.provider_rules import has_imap
from postroom.services.runtime import Runtime

log = logging.getLogger("postroom.mailbox")
# One user action (a move, a folder rename) must not hang a request for long.
ACTION_SECONDS = 60.0
NETWORK_ERRORS = (MailError, OSError, TimeoutError)


class MailServerError(ConflictError):
    """The account's mail server refused a change, or could not be reached for it.

    The change was not made in Postroom either (D2: the server first, then the database).
    """

    code = "mail_server_refused"


def server_error(exc: BaseException, doing: str) -> MailServerError:
    if isinstance(exc, ServerRefusedError):
        return MailServerError(f"The mail server refused to {doing}: {exc.message}")
    if isinstance(exc, TimeoutError):
        words = "it did not answer in time"
    else:
        words = str(exc) or type(exc).__name__
    return MailServerError(
        f"The mail server could not be reached to {doing} ({words}); nothing was changed. "
        "Try again later.",
        code="mail_server_unavailable",
    )


def imap_account_of(account: Account, box: SecretBox) -> ImapAccount | None:
    """What logging in to the account's IMAP server needs; None for POP3 or no incoming mail."""
    if not has_imap(account):
        return None
    target = target_of(account, box, sides=Sides(outgoing=False)).incoming
    if target is None:
        return None
    return ImapAccount(
        account.company_id, account.id, target, account.sent_folder, account.drafts_folder
    )


def incoming_target_of(account: Account, box: SecretBox) -> MailboxTarget | None:
    return target_of(account, box, sides=Sides(outgoing=False)).incoming


@asynccontextmanager
async def imap_session(
    runtime: Runtime, account: ImapAccount, doing: str
) -> AsyncIterator[ImapSession]:
    """Logged in for one change; failures become MailServerError in the server's words, and a
    failed connection or login counts in the account's health."""
    try:
        async with asyncio.timeout(ACTION_SECONDS):
            session = await login(runtime, account)
    except NETWORK_ERRORS as exc:
        await record_imap_failure(runtime, account, exc)
        log.warning(
            "mailbox change: login failed",
            extra={"account_id": account.account_id, "error": str(exc)},
        )
        raise server_error(exc, doing) from exc
    try:
        async with asyncio.timeout(ACTION_SECONDS):
            yield session
    except NETWORK_ERRORS as exc:
        if not isinstance(exc, ServerRefusedError):
            await record_imap_failure(runtime, account, exc)
        log.warning(
            "mailbox change failed",
            extra={"account_id": account.account_id, "doing": doing, "error": str(exc)},
        )
        raise server_error(exc, doing) from exc
    finally:
        await logout(session)
