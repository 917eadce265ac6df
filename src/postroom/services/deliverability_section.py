"""The sender-domain section of "Test account": the DNS checks run beside the connection test."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

from postroom.config import Settings
from postroom.mail.dmarc_report import SenderDomainReport
from postroom.mail.smtp_probe import SmtpTarget
from postroom.services.deliverability import check_account_sender

log = logging.getLogger("postroom.deliverability")


async def _in_daemon_thread(
    work: Callable[[], SenderDomainReport | None],
) -> SenderDomainReport | None:
    """`work()` in a thread of its own: dnspython and pyspf block, and a thread of the default
    executor would hold up asyncio.run()'s exit until every slow lookup had timed out."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[SenderDomainReport | None] = loop.create_future()

    def settle(result: SenderDomainReport | None, error: BaseException | None) -> None:
        if done.done():
            return  # the caller stopped waiting
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    def hand_over(result: SenderDomainReport | None, error: BaseException | None) -> None:
        # RuntimeError: the loop has ended, and nobody waits for this result any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, error)

    def run() -> None:
        try:
            result = work()
        except Exception as exc:  # handed over to the awaiting task, logged there
            hand_over(None, exc)
            return
        hand_over(result, None)

    threading.Thread(target=run, name="sender-domain-check", daemon=True).start()
    return await done


async def sender_domain_section(
    settings: Settings, outgoing: SmtpTarget | None
) -> SenderDomainReport | None:
    """The sender-domain part of "Test account", bounded by the test's own time limit.

    Never raises: a check that cannot be made is left out of the report, and whatever it finds
    is shown, never a reason to refuse saving (issue 9).
    """
    if outgoing is None or not outgoing.address:
        return None

    def work() -> SenderDomainReport | None:
        return check_account_sender(
            settings, address=outgoing.address, server=outgoing.endpoint.host
        )

    try:
        async with asyncio.timeout(settings.account_test_timeout_seconds):
            return await _in_daemon_thread(work)
    except Exception:
        log.warning("sender domain check did not complete", exc_info=True)
        return None
