"""The IMAP adapter for mailbox changes, against the real Dovecot, with and without MOVE/UIDPLUS."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from postroom.enums import Security
from postroom.mail import imap_client, imap_ops
from postroom.mail.imap_probe import ImapSession, close_session
from postroom.mail.sessions import open_imap
from tests.fixtures.mailenv import MailEnv
from tests.mail.support import login, mailbox_target, options
from tests.mailbox.support import make_message, new_address, server_messages
from tests.support import MAILBOX_PASSWORD

T = TypeVar("T")


def _with_session(mailenv: MailEnv, address: str, work: Callable[[ImapSession], Awaitable[T]]) -> T:
    async def run() -> T:
        target = mailbox_target(
            mailenv, mailenv.imaps_port, Security.TLS, login(MAILBOX_PASSWORD, user=address)
        )
        session = await open_imap(target, options(mailenv.ca_file))
        try:
            return await work(session)
        finally:
            await close_session(session)

    return asyncio.run(run())


@pytest.fixture
def address(mailenv: MailEnv) -> str:
    found = new_address("ops")
    mailenv.add_user(found, MAILBOX_PASSWORD)
    for day in (1, 2, 3):
        mailenv.deliver(make_message(f"M{day}", when=datetime(2024, 1, day, tzinfo=UTC)), found)
    return found


def test_uid_sets() -> None:
    assert imap_ops.uid_set([7, 1, 2, 3, 9, 10]) == "1:3,7,9:10"
    assert imap_ops.uid_set([]) == ""
    assert imap_ops.parse_uid_set("1:3,7,10:9") == [1, 2, 3, 7, 10, 9]


@pytest.mark.parametrize("without", [(), ("MOVE",), ("MOVE", "UIDPLUS")])
def test_move_reports_new_uids_where_the_server_can(
    mailenv: MailEnv, address: str, without: tuple[str, ...]
) -> None:
    async def work(session: ImapSession) -> imap_ops.Copied:
        session.capabilities -= set(without)  # as a server that does not offer them
        await imap_ops.create_mailbox(session, "Cel")
        selected = await imap_ops.open_mailbox(session, "INBOX")
        assert selected.exists == 3
        return await imap_ops.move_uids(session, [1, 3], "Cel")

    copied = _with_session(mailenv, address, work)
    moved = server_messages(mailenv, address, "Cel")
    assert len(moved) == 2
    inbox = server_messages(mailenv, address, "INBOX")
    if "UIDPLUS" in without:
        # No UID EXPUNGE without UIDPLUS: the originals stay, flagged \Deleted (a plain
        # EXPUNGE would remove what the user flagged elsewhere). Dovecot still says COPYUID.
        assert len(inbox) == 3
        assert [("\\Deleted" in m["flags"]) for _, m in sorted(inbox.items())] == [
            True,
            False,
            True,
        ]
    else:
        assert list(inbox) == [2]
    assert copied.uids == {1: 1, 3: 2} and copied.uidvalidity is not None


def test_message_ids_flags_status_and_gaps(mailenv: MailEnv, address: str) -> None:
    async def work(session: ImapSession) -> None:
        found = await imap_ops.message_ids(session, "INBOX")
        assert sorted(uid for uids in found.values() for uid in uids) == [1, 2, 3]
        assert all(value.endswith("@firma.example.test") for value in found)
        await imap_client.append(session, "INBOX", b"Subject: bez identyfikatora\r\n\r\nx\r\n")
        assert len(await imap_ops.message_ids(session, "INBOX")) == 3  # no Message-ID: none
        assert await imap_ops.message_count(session, "INBOX") == 4
        await imap_ops.open_mailbox(session, "INBOX")
        await imap_ops.store_flags(session, [2], ["\\Seen", "\\Flagged"], add=True)
        await imap_ops.expunge_uids(session, [3])
        assert await imap_ops.uids_between(session, 2, 4) == [2, 4]
        assert await imap_ops.uids_between(session, 5, 9) == []
        assert await imap_ops.hierarchy_delimiter(session) == "/"

    _with_session(mailenv, address, work)
    inbox = server_messages(mailenv, address, "INBOX")
    assert sorted(inbox) == [1, 2, 4]
    assert {"\\Seen", "\\Flagged"} <= inbox[2]["flags"]
