"""Drafts stored in the account's IMAP drafts folder, each save replacing the previous copy."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from postroom.db.models import User
from postroom.db.models_outbox import Draft
from postroom.enums import Security
from postroom.services.draft_store import StoredDrafts, store_drafts
from postroom.services.drafts import delete_draft
from postroom.services.runtime import Runtime
from tests.api.helpers import mailbox
from tests.fixtures.mailenv import MailEnv
from tests.support import MAILBOX_PASSWORD, Tenant
from tests.worker.outbox_support import imap_fields, make_account, messages_in

ADDRESS = "szkice@example.test"


def _save(runtime: Runtime, tenant: Tenant, account: int, subject: str, draft: int | None) -> int:
    content = {"to": ["anna@klient.test"], "subject": subject, "text": "Treść\r\nBcc: x@y"}
    with runtime.tenant(tenant.company_id) as session:
        row = session.get(Draft, draft) if draft else None
        if row is None:
            row = Draft(user_id=tenant.admin.id, account_id=account, content=content)
            session.add(row)
        else:
            row.content = content
        session.flush()
        return row.id


def test_a_draft_is_stored_and_replaced(runtime: Runtime, tenant: Tenant, mailenv: MailEnv) -> None:
    mailbox(mailenv, ADDRESS)
    account = make_account(
        runtime,
        tenant.company_id,
        email_address=ADDRESS,
        smtp_security=Security.NONE,
        **imap_fields(mailenv.host, mailenv.imaps_port, ADDRESS, MAILBOX_PASSWORD),
    )
    drafts = mailenv.maildir(ADDRESS) / ".Drafts"
    stored = StoredDrafts()
    draft = _save(runtime, tenant, account, "Oferta v1", None)
    assert asyncio.run(store_drafts(runtime, stored)) == 1
    (first,) = messages_in(drafts)
    assert b"Subject: Oferta v1" in first.read_bytes()
    assert first.name.endswith(":2,DS")  # \Draft and \Seen, as Maildir flags
    with runtime.tenant(tenant.company_id) as session:
        row = session.get(Draft, draft)
        assert row is not None and row.imap_folder == "Drafts" and row.imap_uid

    assert asyncio.run(store_drafts(runtime, stored)) == 0  # unchanged: nothing to do
    assert asyncio.run(store_drafts(runtime, StoredDrafts())) == 0  # a restarted worker too

    _save(runtime, tenant, account, "Oferta v2", draft)
    assert asyncio.run(store_drafts(runtime, stored)) == 1
    (second,) = messages_in(drafts)
    assert b"Subject: Oferta v2" in second.read_bytes()

    with runtime.tenant(tenant.company_id) as session:  # deleted in Postroom
        actor = session.get(User, tenant.admin.id)
        assert actor is not None
        delete_draft(session, actor=actor, draft_id=draft)
    with runtime.tenant(tenant.company_id) as session:  # a tombstone until the copy is gone
        row = session.get(Draft, draft)
        assert row is not None and row.deleted_at is not None and row.content == {}
    # A restarted worker (nothing remembered) still removes the copy, then the tombstone.
    asyncio.run(store_drafts(runtime, StoredDrafts()))
    assert messages_in(drafts) == []
    with runtime.tenant(tenant.company_id) as session:
        assert session.scalar(select(Draft).where(Draft.id == draft)) is None
