"""Mail in the database without a sync: accounts, folders, and messages stored and indexed by
the ingest (services/mail_ingest.py) exactly as the sync engines store them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from postroom.db.models import Account
from postroom.db.models_mailbox import MailFolder
from postroom.enums import FolderRole
from postroom.services.mail_ingest import index_pending, store_incoming
from postroom.services.mail_prepare import IncomingMessage
from postroom.services.runtime import Runtime
from postroom.storage.mailstore import mail_store_for
from tests.support import Tenant

CORPUS = Path(__file__).parent / "corpus"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def add_account(
    runtime: Runtime, tenant: Tenant, address: str, *, owner: int | None = None, **fields: Any
) -> int:
    """An account row as saved (no connection test): reading needs only the row."""
    with runtime.tenant(tenant.company_id) as session:
        account = Account(
            owner_user_id=owner,
            email_address=address,
            smtp_host="smtp.example.test",
            **fields,
        )
        session.add(account)
        session.flush()
        return account.id


def add_folder(
    runtime: Runtime,
    tenant: Tenant,
    account_id: int,
    path: str,
    role: FolderRole = FolderRole.OTHER,
    delimiter: str | None = "/",
) -> int:
    with runtime.tenant(tenant.company_id) as session:
        name = path.rsplit(delimiter, 1)[-1] if delimiter else path
        folder = MailFolder(
            account_id=account_id, path=path, name=name, delimiter=delimiter, role=role
        )
        session.add(folder)
        session.flush()
        return folder.id


def store(
    runtime: Runtime,
    tenant: Tenant,
    folder_id: int,
    raws: Sequence[bytes],
    *,
    seen: bool = False,
    first_uid: int | None = None,
) -> list[int]:
    """Store `raws` in the folder as a sync would (raw bytes, header rows, then the body's text
    and search row); ids in the order given."""
    with runtime.tenant(tenant.company_id) as session:
        folder = session.get(MailFolder, folder_id)
        assert folder is not None
        account = session.get(Account, folder.account_id)
        assert account is not None
        start = first_uid if first_uid is not None else folder.synced_uid + 1
        flags = frozenset({"\\Seen"}) if seen else frozenset()
        items = [
            IncomingMessage(raw=raw, uid=start + n, uidvalidity=1, flags=flags)
            for n, raw in enumerate(raws)
        ]
        folder.synced_uid = start + len(raws) - 1
        rows = store_incoming(
            session,
            mail_store_for(runtime.settings.data_dir),
            account,
            folder,
            items,
            from_history=False,
        )
        while index_pending(session, mail_store_for(runtime.settings.data_dir)):
            pass
        return [row.id for row in rows]


def mailbox(runtime: Runtime, tenant: Tenant, address: str, **fields: Any) -> tuple[int, int]:
    """(account id, inbox folder id) of a new account with an INBOX."""
    account_id = add_account(runtime, tenant, address, **fields)
    return account_id, add_folder(runtime, tenant, account_id, "INBOX", FolderRole.INBOX)
