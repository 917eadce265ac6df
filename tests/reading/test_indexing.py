"""The second stage of ingest: what is still to index is found by its flag, and only that."""

from __future__ import annotations

from sqlalchemy import func, select

from postroom.db.models import Account
from postroom.db.models_mailbox import MailFolder, MailMessage, MailText
from postroom.services.mail_ingest import index_pending, store_incoming
from postroom.services.mail_prepare import IncomingMessage
from postroom.services.runtime import Runtime
from postroom.storage.mailstore import mail_store_for
from tests.reading.support import corpus, mailbox
from tests.support import Tenant


def _store_unindexed(runtime: Runtime, tenant: Tenant, folder_id: int, count: int) -> None:
    with runtime.tenant(tenant.company_id) as session:
        folder = session.get(MailFolder, folder_id)
        assert folder is not None
        account = session.get(Account, folder.account_id)
        assert account is not None
        start = folder.synced_uid + 1
        items = [
            IncomingMessage(raw=corpus("iso8859_2.eml"), uid=start + n, uidvalidity=1)
            for n in range(count)
        ]
        folder.synced_uid = start + count - 1
        store = mail_store_for(runtime.settings.data_dir)
        store_incoming(session, store, account, folder, items, from_history=False)


def _index(runtime: Runtime, tenant: Tenant, account_id: int, limit: int) -> int:
    with runtime.tenant(tenant.company_id) as session:
        store = mail_store_for(runtime.settings.data_dir)
        return index_pending(session, store, limit=limit, account_id=account_id)


def _counts(runtime: Runtime, tenant: Tenant) -> tuple[int, int, int]:
    with runtime.tenant(tenant.company_id) as session:
        flagged = session.scalar(
            select(func.count()).select_from(MailMessage).where(MailMessage.indexed.is_(True))
        )
        texts = session.scalar(select(func.count()).select_from(MailText))
        messages = session.scalar(select(func.count()).select_from(MailMessage))
    return flagged or 0, texts or 0, messages or 0


def test_only_unindexed_messages_are_indexed_once_each(runtime: Runtime, tenant: Tenant) -> None:
    account_id, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    other_id, other_inbox = mailbox(runtime, tenant, "kadry@alfa.example.test")
    _store_unindexed(runtime, tenant, inbox, 5)
    _store_unindexed(runtime, tenant, other_inbox, 2)
    assert _counts(runtime, tenant) == (0, 0, 7)

    assert _index(runtime, tenant, account_id, limit=3) == 3  # a batch at a time
    assert _index(runtime, tenant, account_id, limit=3) == 2
    assert _index(runtime, tenant, account_id, limit=3) == 0  # nothing twice
    assert _counts(runtime, tenant) == (5, 5, 7)  # the other account's wait for its fetch

    assert _index(runtime, tenant, other_id, limit=3) == 2
    _store_unindexed(runtime, tenant, inbox, 1)  # new mail after indexing
    assert _index(runtime, tenant, account_id, limit=3) == 1
    assert _counts(runtime, tenant) == (8, 8, 8)


def test_a_message_with_its_search_row_but_no_flag_is_only_flagged(
    runtime: Runtime, tenant: Tenant
) -> None:
    """Rows written before the flag existed (the migration sets it; this is the safety net)."""
    account_id, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    _store_unindexed(runtime, tenant, inbox, 2)
    assert _index(runtime, tenant, account_id, limit=10) == 2
    with runtime.tenant(tenant.company_id) as session:
        for message in session.scalars(select(MailMessage)):
            message.indexed = False
    assert _index(runtime, tenant, account_id, limit=10) == 2
    assert _counts(runtime, tenant) == (2, 2, 2)
    assert _index(runtime, tenant, account_id, limit=10) == 0
