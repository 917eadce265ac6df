"""Helpers for new-mail tests: messages stored as the sync stores them, then `on_new_mail`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from typing import Any

from sqlalchemy import select

from postroom.db.models import Account
from postroom.db.models_mailbox import MailFolder, MailMessage
from postroom.enums import FolderRole
from postroom.services.mail_ingest import store_incoming
from postroom.services.mail_prepare import IncomingMessage
from postroom.services.new_mail import on_new_mail
from postroom.services.runtime import Runtime
from postroom.storage.mailstore import mail_store_for

_NEXT_UID = iter(range(1, 1_000_000))


def message(
    sender: str = "Jan Kowalski <jan.kowalski@kowalski-serwis.pl>",
    to: str = "biuro@alfa.example.test",
    subject: str = "Zapytanie o fakturę",
    body: str = "Dzień dobry,\nproszę o fakturę.\n",
    *,
    headers: dict[str, str] | None = None,
    return_path: str | None = None,
    message_id: str | None = None,
) -> bytes:
    """A received message as an IMAP server hands it out (Return-Path first, as LMTP adds)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    if subject:
        mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@kowalski-serwis.pl>"
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(body)
    raw = mail.as_bytes(policy=SMTP)
    if return_path is not None:
        raw = f"Return-Path: {return_path}\r\n".encode() + raw
    return raw


def folder(session: Any, account: Account, path: str, role: FolderRole) -> MailFolder:
    found = session.scalar(
        select(MailFolder).where(MailFolder.account_id == account.id, MailFolder.path == path)
    )
    if found is None:
        found = MailFolder(
            company_id=account.company_id, account_id=account.id, path=path, name=path, role=role
        )
        session.add(found)
        session.flush()
    return found


def store(
    runtime: Runtime,
    session: Any,
    account: Account,
    raws: Sequence[bytes | IncomingMessage],
    *,
    path: str = "INBOX",
    role: FolderRole = FolderRole.INBOX,
    from_history: bool = False,
) -> list[MailMessage]:
    """Raw bytes (given UIDs here) or fetched messages, stored as the sync stores them."""
    target = folder(session, account, path, role)
    items = [
        raw
        if isinstance(raw, IncomingMessage)
        else IncomingMessage(raw=raw, uid=next(_NEXT_UID), uidvalidity=1)
        for raw in raws
    ]
    return store_incoming(
        session,
        mail_store_for(runtime.settings.data_dir),
        account,
        target,
        items,
        from_history=from_history,
    )


def arrive(
    runtime: Runtime,
    company_id: int,
    account_id: int,
    raws: Sequence[bytes],
    *,
    path: str = "INBOX",
    role: FolderRole = FolderRole.INBOX,
    from_history: bool = False,
) -> list[int]:
    """Store messages and run the new-mail rules in one transaction, as a fetch does."""
    with runtime.tenant(company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None
        stored = store(
            runtime, session, account, raws, path=path, role=role, from_history=from_history
        )
        on_new_mail(runtime, session, account, stored)
        return [m.id for m in stored]


def set_account(runtime: Runtime, company_id: int, account_id: int, **fields: Any) -> None:
    with runtime.tenant(company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None
        for name, value in fields.items():
            setattr(account, name, value)


def rows(runtime: Runtime, company_id: int, model: Any, *where: Any) -> list[Any]:
    """All rows of `model` in the company (detached, for assertions)."""
    with runtime.tenant(company_id) as session:
        found = list(session.scalars(select(model).where(*where).order_by(model.id)))
        session.expunge_all()
        return found
