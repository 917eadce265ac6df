"""The fetch's fast insert (db/bulk.py) stores rows exactly as the ORM's INSERT does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from postroom.db.models import Account
from postroom.db.models_mailbox import MailFolder, MailMessage
from postroom.db.tenancy import TenantScopeError
from postroom.services.mail_ingest import insert_prepared
from postroom.services.mail_prepare import IncomingMessage, prepare_incoming
from postroom.services.runtime import Runtime
from postroom.storage.mailstore import mail_store_for
from tests.reading.support import CORPUS, add_account, add_folder
from tests.support import Tenant

# Columns that differ by design: the row's own id and where its bytes are.
_OWN = {"id", "blob_key", "folder_id"}
TRICKY = (
    b"From: =?utf-8?q?Zo=C5=9Bka_=22Tab=09=22?= <zoska@firma.test>\r\n"
    b'To: a@b.test, "Back\\\\slash" <c@d.test>\r\nCc: <e@f.test>\r\n'
    b"Subject: tab\there and a \\ backslash, a newline follows\r\n  continued\r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nMessage-ID: <x@y>\r\n"
    b"References: <a@b> <c@d>\r\nAuto-Submitted: auto-replied\r\n\r\nbody\r\n"
)


def _rows(runtime: Runtime, tenant: Tenant, folder_id: int) -> list[dict[str, object]]:
    with runtime.tenant(tenant.company_id) as session:
        found = session.scalars(
            select(MailMessage).where(MailMessage.folder_id == folder_id).order_by(MailMessage.uid)
        ).all()
        return [
            {
                c.key: getattr(m, c.key)
                for c in MailMessage.__mapper__.column_attrs
                if c.key not in _OWN
            }
            for m in found
        ]


def _raw_json(runtime: Runtime, tenant: Tenant, folder_id: int) -> list[tuple[object, ...]]:
    columns = ("parse_defects", "keywords", "to_addresses", "attachments")
    listed = ", ".join(f"CAST({name} AS TEXT)" for name in columns)
    query = text(f"SELECT uid, {listed} FROM mail_messages WHERE folder_id = :f ORDER BY uid")  # noqa: S608
    with runtime.tenant(tenant.company_id) as session:
        return [tuple(row) for row in session.execute(query, {"f": folder_id})]


def test_fast_insert_reads_back_as_the_orm_insert(runtime: Runtime, tenant: Tenant) -> None:
    account_id = add_account(runtime, tenant, "anna@firma.test")
    folders = [add_folder(runtime, tenant, account_id, name) for name in ("orm", "fast")]
    raws = [TRICKY] + [path.read_bytes() for path in sorted(CORPUS.iterdir())[:40]]
    flags = [frozenset(), frozenset({"\\Seen", "\\Flagged", "$Label1"}), frozenset({"\\Draft"})]
    when = datetime(2026, 11, 20, 8, 30, 15, 123456, tzinfo=UTC)
    items = [
        IncomingMessage(
            raw=raw,
            uid=n + 1,
            uidvalidity=7,
            flags=flags[n % 3],
            modseq=n or None,
            internal_date=when if n % 2 else None,
        )
        for n, raw in enumerate(raws)
    ]
    store = mail_store_for(runtime.settings.data_dir)
    for folder_id, returning in zip(folders, (True, False), strict=True):
        with runtime.tenant(tenant.company_id) as session:
            account = session.get(Account, account_id)
            folder = session.get(MailFolder, folder_id)
            assert account is not None and folder is not None
            prepared = prepare_incoming(store, items)
            inserted = insert_prepared(
                session, account, folder, prepared, from_history=False, returning=returning
            )
            assert len(inserted) == (len(items) if returning else 0)
    orm, fast = (_rows(runtime, tenant, folder_id) for folder_id in folders)
    assert len(fast) == len(raws)
    for a, b in zip(orm, fast, strict=True):
        a.pop("stored_at"), b.pop("stored_at")
        assert a == b
    assert any(row["to_addresses"] and row["keywords"] for row in fast)
    # As stored, not only as read back: JSON null stays JSON null, lists stay lists.
    raw_orm, raw_fast = (_raw_json(runtime, tenant, folder_id) for folder_id in folders)
    assert raw_fast == raw_orm and any(row[1] == "null" for row in raw_fast)
    assert fast[0]["subject"].startswith("tab\there and a \\ backslash")


def test_fast_insert_refuses_another_companys_account(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    account_id = add_account(runtime, other_tenant, "obcy@inna.test")
    folder_id = add_folder(runtime, other_tenant, account_id, "INBOX")
    store = mail_store_for(runtime.settings.data_dir)
    prepared = prepare_incoming(store, [IncomingMessage(raw=TRICKY, uid=1, uidvalidity=1)])
    with runtime.platform() as platform:
        account = platform.get(Account, account_id)
        folder = platform.get(MailFolder, folder_id)
        platform.expunge_all()
    assert account is not None and folder is not None
    with pytest.raises(TenantScopeError), runtime.tenant(tenant.company_id) as session:
        insert_prepared(session, account, folder, prepared, from_history=False, returning=False)
    assert _rows(runtime, other_tenant, folder_id) == []
