"""IMAP IDLE push (RFC 2177, D1): wait in an account's INBOX and say when something changed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy.orm import Session

from postroom.db.models import Account
from postroom.errors import PostroomError
from postroom.mail.imap_idle import MAX_IDLE_SECONDS, idle
from postroom.mail.imap_probe import close_session
from postroom.mail.imap_sync_client import Capabilities, examine
from postroom.services.runtime import Runtime
from postroom.services.sync_connect import IncomingAccount, incoming_account, login_imap
from postroom.services.sync_schedule import fetchable


class IdleNotSupportedError(PostroomError):
    """The server does not offer IDLE; the account is fetched on its schedule only."""

    code = "idle_not_supported"


def watched_account(runtime: Runtime, company_id: int, account_id: int) -> IncomingAccount | None:
    with runtime.tenant(company_id) as session:
        account = _account(session, account_id)
        return incoming_account(runtime, account) if account is not None else None


def _account(session: Session, account_id: int) -> Account | None:
    account = session.get(Account, account_id)
    return account if account is not None and fetchable(account) else None


async def watch_inbox(
    runtime: Runtime,
    account: IncomingAccount,
    on_change: Callable[[], Awaitable[None]],
    *,
    idle_seconds: float = MAX_IDLE_SECONDS,
) -> None:
    """Log in, open the INBOX read-only and IDLE until cancelled; `on_change` is awaited
    once the INBOX is open, then each time the server announces new, expunged or re-flagged
    mail. Raises MailError when
    the connection fails (the caller retries), IdleNotSupportedError when IDLE is absent."""
    timeout = runtime.settings.fetch_timeout_seconds
    async with asyncio.timeout(timeout):
        session = await login_imap(runtime, account)
    try:
        caps = Capabilities({name.upper() for name in session.capabilities})
        if not caps.idle:
            raise IdleNotSupportedError("The server does not offer IMAP IDLE.")
        async with asyncio.timeout(timeout):
            await examine(session, caps, "INBOX")
        await on_change()  # what arrived while no one was watching (start, reconnect)
        while True:
            async with asyncio.timeout(idle_seconds + timeout):
                result = await idle(session, seconds=idle_seconds)
            if result.changed:
                await on_change()
    finally:
        await close_session(session)
