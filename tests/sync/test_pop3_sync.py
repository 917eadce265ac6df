"""POP3 against the real Dovecot: UIDL-based, never twice, leaving copies or deleting them
after a committed download, and "only mail received after a date" (A7)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from postroom.db.models_mailbox import MailMessage, Pop3SeenUidl
from postroom.enums import FolderRole, IncomingProtocol
from postroom.mail.parse import parse_message
from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.support import Tenant
from tests.sync.support import (
    account_row,
    append,
    fetch,
    folders,
    make_account,
    messages,
    new_mailbox,
    other_client,
    state,
    stored,
)


def _on_server(mailenv: MailEnv, address: str) -> int:
    with other_client(mailenv, address) as imap:
        status = imap.select("INBOX")
        return int(status[1][0] or 0)


def _digests(raws: list[bytes]) -> set[str]:
    return {hashlib.sha256(raw).hexdigest() for raw in raws}


def test_leaving_copies_downloads_each_message_once(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    raws = messages(14, to=address)
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", raws)
    account_id = make_account(
        runtime, tenant.company_id, mailenv, address, protocol=IncomingProtocol.POP3
    )

    first = fetch(runtime, tenant.company_id, account_id)

    assert first.error is None and first.new_messages == 14
    inbox = folders(runtime, tenant.company_id, account_id)["INBOX"]
    assert inbox.is_local and inbox.role is FolderRole.INBOX
    rows = stored(runtime, tenant.company_id, account_id)
    assert {r.sha256 for r in rows} == _digests(raws)  # the bytes exactly, dots unstuffed
    assert all(r.pop_uidl and r.from_history for r in rows)
    assert _on_server(mailenv, address) == 14
    assert account_row(runtime, tenant.company_id, account_id).first_fetched_at is not None

    assert fetch(runtime, tenant.company_id, account_id).new_messages == 0
    mailenv.deliver(messages(1, start=30, to=address)[0], address)
    again = fetch(runtime, tenant.company_id, account_id)
    assert again.new_messages == 1
    newest = [r for r in stored(runtime, tenant.company_id, account_id) if not r.from_history]
    assert len(newest) == 1


def test_a_purged_message_is_never_downloaded_again(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", messages(3, to=address))
    account_id = make_account(
        runtime, tenant.company_id, mailenv, address, protocol=IncomingProtocol.POP3
    )
    fetch(runtime, tenant.company_id, account_id)
    with runtime.tenant(tenant.company_id) as session:  # as a purge leaves it
        session.execute(delete(MailMessage).where(MailMessage.account_id == account_id))

    assert fetch(runtime, tenant.company_id, account_id).new_messages == 0
    assert stored(runtime, tenant.company_id, account_id) == []


def test_without_copies_the_server_is_emptied_after_the_download(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    raws = messages(12, to=address)
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", raws)
    account_id = make_account(
        runtime,
        tenant.company_id,
        mailenv,
        address,
        protocol=IncomingProtocol.POP3,
        leave_on_server=False,
    )

    result = fetch(runtime, tenant.company_id, account_id)

    assert result.error is None and result.new_messages == 12
    assert {r.sha256 for r in stored(runtime, tenant.company_id, account_id)} == _digests(raws)
    assert _on_server(mailenv, address) == 0
    with runtime.tenant(tenant.company_id) as session:
        seen = session.scalars(
            select(Pop3SeenUidl).where(Pop3SeenUidl.account_id == account_id)
        ).all()
        assert len(seen) == 12 and all(row.deleted_on_server for row in seen)


def test_only_mail_received_after_the_date_is_downloaded(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    old = messages(3, to=address)  # Received in 2024 (fill_mailbox.py), appended as they are
    new = messages(2, start=20, to=address)
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", old)
    for raw in new:  # LMTP adds a Received header with today's date on top
        mailenv.deliver(raw, address)
    since = (datetime.now(UTC) - timedelta(days=1)).date()
    account_id = make_account(
        runtime,
        tenant.company_id,
        mailenv,
        address,
        protocol=IncomingProtocol.POP3,
        leave_on_server=False,
        fetch_since=since,
    )

    result = fetch(runtime, tenant.company_id, account_id)

    assert result.new_messages == 2
    got = {r.message_id for r in stored(runtime, tenant.company_id, account_id)}
    assert got == {parse_message(raw, with_body=False).message_id for raw in new}
    assert _on_server(mailenv, address) == 3  # older mail is left alone, not deleted
    assert state(runtime, tenant.company_id, account_id).first_import_done_at is not None
