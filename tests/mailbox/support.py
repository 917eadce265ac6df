"""Mailbox test helpers: real mailboxes on the test Dovecot, mirrored into the database.

The mirror here is a plain imaplib/poplib client storing through services/mail_ingest, so
these tests do not depend on the sync engine; it records the same identities (UIDVALIDITY,
UID, UIDL) and checkpoints the engine keeps.
"""

from __future__ import annotations

import imaplib
import poplib
import re
import ssl
import uuid
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from sqlalchemy import select

from postroom.db.models import Account
from postroom.db.models_mailbox import MailFolder, MailMessage, Pop3SeenUidl
from postroom.enums import AuthMethod, FolderRole, IncomingProtocol, Security
from postroom.services.mail_ingest import index_pending, store_incoming
from postroom.services.mail_prepare import IncomingMessage
from postroom.services.runtime import Runtime
from postroom.storage.mailstore import mail_store_for
from tests.api.helpers import mailbox
from tests.fixtures.mailenv import MailEnv
from tests.support import MAILBOX_PASSWORD
from tests.worker.outbox_support import imap_fields, make_account

_ROLES = {
    "\\Sent": FolderRole.SENT,
    "\\Drafts": FolderRole.DRAFTS,
    "\\Trash": FolderRole.TRASH,
    "\\Junk": FolderRole.JUNK,
    "\\Archive": FolderRole.ARCHIVE,
}
_LIST = re.compile(rb'^\((?P<flags>[^)]*)\) "(?P<delim>[^"]*)" (?P<name>.+)$')
_FETCH_META = re.compile(rb"UID (\d+).*FLAGS \(([^)]*)\).*INTERNALDATE \"([^\"]+)\"")


def new_address(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.test"


def tls(mailenv: MailEnv) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=mailenv.ca_file)


def make_message(
    subject: str, *, when: datetime, sender: str = "klient@firma.example.test"
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Zofia Żółć <{sender}>"
    message["To"] = "biuro@alfa.example.test"
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = f"<{uuid.uuid4().hex}@firma.example.test>"
    message.set_content(f"Treść wiadomości „{subject}”: zażółć gęślą jaźń.\n")
    return message.as_bytes(policy=SMTP)


def imap_account(
    runtime: Runtime, company_id: int, mailenv: MailEnv, address: str, **kw: Any
) -> int:
    """An IMAP account on the test Dovecot (a fresh mailbox), saved without a test."""
    mailbox(mailenv, address)
    fields = imap_fields(mailenv.host, mailenv.imaps_port, address, MAILBOX_PASSWORD)
    return make_account(runtime, company_id, email_address=address, **fields, **kw)


def pop3_account(
    runtime: Runtime, company_id: int, mailenv: MailEnv, address: str, **kw: Any
) -> int:
    mailbox(mailenv, address)
    return make_account(
        runtime,
        company_id,
        email_address=address,
        incoming_protocol=IncomingProtocol.POP3,
        incoming_host=mailenv.host,
        incoming_port=mailenv.pop3s_port,
        incoming_security=Security.TLS,
        incoming_auth=AuthMethod.PASSWORD,
        incoming_username=address,
        incoming_password=MAILBOX_PASSWORD,
        **kw,
    )


def imap_client(mailenv: MailEnv, address: str) -> imaplib.IMAP4_SSL:
    client = imaplib.IMAP4_SSL(
        mailenv.host, mailenv.imaps_port, ssl_context=tls(mailenv), timeout=20
    )
    client.login(address, MAILBOX_PASSWORD)
    return client


def server_folders(mailenv: MailEnv, address: str) -> set[str]:
    with imap_client(mailenv, address) as client:
        _, lines = client.list()
    names = set()
    for line in lines:
        assert isinstance(line, bytes)
        found = _LIST.match(line)
        assert found is not None, line
        names.add(found["name"].decode().strip('"'))
    return names


def server_messages(mailenv: MailEnv, address: str, folder: str) -> dict[int, dict[str, Any]]:
    """UID -> {"raw", "flags", "internal_date"} of every message in `folder`."""
    with imap_client(mailenv, address) as client:
        typ, _ = client.select(f'"{folder}"', readonly=True)
        assert typ == "OK", folder
        typ, data = client.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
    found: dict[int, dict[str, Any]] = {}
    for part in data:
        if not isinstance(part, tuple):
            continue
        meta = _FETCH_META.search(part[0])
        assert meta is not None, part[0]
        found[int(meta.group(1))] = {
            "raw": part[1],
            "flags": set(meta.group(2).decode().split()),
            "internal_date": parsedate_to_datetime(meta.group(3).decode().replace("-", " ", 2)),
        }
    return found


def pop3_uidls(mailenv: MailEnv, address: str) -> dict[str, bytes]:
    """UIDL -> raw bytes of every message in the POP3 maildrop."""
    pop = poplib.POP3_SSL(mailenv.host, mailenv.pop3s_port, context=tls(mailenv), timeout=20)
    try:
        pop.user(address)
        pop.pass_(MAILBOX_PASSWORD)
        listing = pop.uidl()[1]
        found = {}
        for entry in listing:
            number, uidl = entry.decode().split()
            lines = pop.retr(int(number))[1]
            found[uidl] = b"\r\n".join(lines) + b"\r\n"
        return found
    finally:
        pop.quit()


def _role(flags: bytes, name: str) -> FolderRole:
    if name.upper() == "INBOX":
        return FolderRole.INBOX
    for flag, role in _ROLES.items():
        if flag.encode() in flags:
            return role
    return FolderRole.OTHER


def mirror_imap(
    runtime: Runtime, company_id: int, account_id: int, mailenv: MailEnv, address: str
) -> dict[str, int]:
    """Every folder and message of the mailbox into the database, as a first sync would;
    folder path -> folder id."""
    store = mail_store_for(runtime.settings.data_dir)
    ids: dict[str, int] = {}
    with imap_client(mailenv, address) as client:
        _, lines = client.list()
        listed = []
        for line in lines:
            assert isinstance(line, bytes)
            found = _LIST.match(line)
            assert found is not None
            listed.append(
                (found["flags"], found["delim"].decode(), found["name"].decode().strip('"'))
            )
    for flags, delimiter, name in listed:
        messages = server_messages(mailenv, address, name)
        with imap_client(mailenv, address) as client:
            client.select(f'"{name}"', readonly=True)
            validity = client.response("UIDVALIDITY")[1][0]
        assert isinstance(validity, bytes)
        uidvalidity = int(validity)
        with runtime.tenant(company_id) as session:
            account = session.get(Account, account_id)
            assert account is not None
            folder = session.scalar(
                select(MailFolder).where(
                    MailFolder.account_id == account_id, MailFolder.path == name
                )
            )
            if folder is None:
                folder = MailFolder(
                    account_id=account_id,
                    path=name,
                    name=name.rpartition(delimiter)[2],
                    delimiter=delimiter,
                    role=_role(flags, name),
                )
                session.add(folder)
                session.flush()
            # As an incremental sync: only UIDs above the checkpoint (models_mailbox.py).
            known = set(
                session.scalars(select(MailMessage.uid).where(MailMessage.folder_id == folder.id))
            )
            if folder.uidvalidity == uidvalidity:
                known |= set(range(1, folder.synced_uid + 1))
            items = [
                IncomingMessage(
                    raw=m["raw"],
                    uid=uid,
                    uidvalidity=uidvalidity,
                    flags=frozenset(m["flags"]),
                    internal_date=m["internal_date"],
                )
                for uid, m in sorted(messages.items())
                if uid not in known
            ]
            store_incoming(session, store, account, folder, items, from_history=True)
            folder.uidvalidity = uidvalidity
            folder.synced_uid = max([folder.synced_uid, *messages])
            index_pending(session, store)
            ids[name] = folder.id
    return ids


def mirror_pop3(
    runtime: Runtime, company_id: int, account_id: int, mailenv: MailEnv, address: str
) -> int:
    """Download the maildrop into a local INBOX (leaving copies on the server); its id."""
    store = mail_store_for(runtime.settings.data_dir)
    downloaded = pop3_uidls(mailenv, address)
    with runtime.tenant(company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None
        inbox = session.scalar(
            select(MailFolder).where(
                MailFolder.account_id == account_id, MailFolder.path == "INBOX"
            )
        )
        if inbox is None:
            inbox = MailFolder(
                account_id=account_id,
                path="INBOX",
                name="INBOX",
                delimiter="/",
                role=FolderRole.INBOX,
                is_local=True,
            )
            session.add(inbox)
            session.flush()
        seen = set(
            session.scalars(select(Pop3SeenUidl.uidl).where(Pop3SeenUidl.account_id == account_id))
        )
        items = [
            IncomingMessage(raw=raw, pop_uidl=uidl)
            for uidl, raw in downloaded.items()
            if uidl not in seen
        ]
        store_incoming(session, store, account, inbox, items, from_history=True)
        session.add_all(Pop3SeenUidl(account_id=account_id, uidl=item.pop_uidl) for item in items)
        index_pending(session, store)
        return inbox.id


def messages_of(runtime: Runtime, company_id: int, account_id: int) -> list[MailMessage]:
    with runtime.tenant(company_id) as session:
        rows = list(
            session.scalars(
                select(MailMessage)
                .where(MailMessage.account_id == account_id)
                .order_by(MailMessage.id)
            )
        )
        session.expunge_all()
        return rows


def folder_row(runtime: Runtime, company_id: int, folder_id: int) -> MailFolder:
    with runtime.tenant(company_id) as session:
        folder = session.get(MailFolder, folder_id)
        assert folder is not None
        session.expunge_all()
        return folder
