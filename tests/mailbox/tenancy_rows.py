"""Rows of the mailbox operations for the tenancy table (tests/api/test_tenancy.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from postroom.db.models import Account
from postroom.db.models_mailbox import MailFolder, MailMigration
from postroom.enums import FolderRole
from postroom.services.mail_ingest import store_incoming
from postroom.services.mail_prepare import IncomingMessage
from postroom.storage.mailstore import mail_store_for
from tests.mailbox.support import make_message
from tests.support import Tenant


def mailbox_rows(tenant: Tenant, account_id: int) -> dict[str, int]:
    """A folder, a message in the inbox and a migration of the account."""
    runtime = tenant.runtime
    store = mail_store_for(runtime.settings.data_dir)
    with runtime.tenant(tenant.company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None
        inbox = session.scalar(
            select(MailFolder).where(
                MailFolder.account_id == account_id, MailFolder.path == "INBOX"
            )
        ) or MailFolder(account_id=account_id, path="INBOX", name="INBOX", role=FolderRole.INBOX)
        folder = MailFolder(account_id=account_id, path="Projekty", name="Projekty", is_local=True)
        session.add_all([inbox, folder])
        session.flush()
        raw = make_message("Tajne alfa", when=datetime(2024, 2, 2, tzinfo=UTC))
        (mail,) = store_incoming(
            session,
            store,
            account,
            inbox,
            [IncomingMessage(raw, pop_uidl="alfa-1")],
            from_history=True,
        )
        migration = MailMigration(
            source_account_id=account_id, target_account_id=account_id, target_folder="INBOX"
        )
        session.add(migration)
        session.flush()
        return {"folder": folder.id, "mail": mail.id, "migration": migration.id}


def mailbox_requests(
    account_id: int, rows: dict[str, int]
) -> list[tuple[str, str, dict[str, Any] | None]]:
    folder, mail, migration = rows["folder"], rows["mail"], rows["migration"]
    return [
        ("GET", f"/accounts/{account_id}/folders", None),
        ("POST", f"/accounts/{account_id}/folders", {"name": "Hacked"}),
        ("PATCH", f"/folders/{folder}", {"name": "Hacked"}),
        ("DELETE", f"/folders/{folder}", None),
        ("POST", f"/mail/{mail}/delete", None),
        ("POST", f"/mail/{mail}/restore", None),
        ("POST", f"/mail/{mail}/purge", None),
        ("POST", f"/mail/{mail}/move", {"folder_id": folder}),
        ("PATCH", f"/mail/{mail}", {"seen": True}),
        ("POST", "/mail/delete", {"ids": [mail]}),
        ("POST", "/mail/restore", {"ids": [mail]}),
        ("POST", "/mail/purge", {"ids": [mail]}),
        ("POST", "/mail/move", {"ids": [mail], "folder_id": folder}),
        ("POST", "/mail/flags", {"ids": [mail], "seen": True}),
        ("GET", f"/migrations/{migration}", None),
        ("POST", f"/migrations/{migration}/cancel", None),
    ]


def mailbox_paths(account_id: int, rows: dict[str, int]) -> list[str]:
    """What the owner reads to see that nothing changed (folders carry the message counts)."""
    return [f"/accounts/{account_id}/folders", f"/migrations/{rows['migration']}"]
