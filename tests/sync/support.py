"""Helpers of the sync tests: fresh mailboxes on the real Dovecot, accounts, another client."""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import ssl
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from postroom.db.models import Account
from postroom.db.models_mailbox import MailFolder, MailMessage, MailSyncState
from postroom.enums import AuthMethod, IncomingProtocol, Security
from postroom.mail.imap_wire import encode_mailbox_name
from postroom.secrets import Secret
from postroom.services.runtime import Runtime
from postroom.services.sync_context import FetchOptions, Progress
from postroom.services.sync_run import FetchResult, run_fetch
from tests.fixtures.fill_mailbox import Series
from tests.fixtures.mailenv import MailEnv
from tests.support import INCOMING_PASSWORD

# Small batches, so a few dozen messages make several batches (checkpoints, pipelining).
SMALL = FetchOptions(batch_messages=5, batch_bytes=256 * 1024, parallel_threshold=10, index_batch=7)


def new_mailbox(mailenv: MailEnv) -> str:
    """A fresh, empty mailbox on the local Dovecot (one per test: no state shared)."""
    address = f"sync-{uuid.uuid4().hex[:10]}@example.test"
    mailenv.add_user(address, INCOMING_PASSWORD)
    return address


def make_account(
    runtime: Runtime,
    company_id: int,
    mailenv: MailEnv,
    address: str,
    *,
    protocol: IncomingProtocol = IncomingProtocol.IMAP,
    **fields: Any,
) -> int:
    """An account row fetching `address` over implicit TLS (no connection test)."""
    port = mailenv.imaps_port if protocol is IncomingProtocol.IMAP else mailenv.pop3s_port
    values: dict[str, Any] = {
        "email_address": address,
        "smtp_host": mailenv.host,
        "smtp_port": mailenv.submission_port,
        "incoming_protocol": protocol,
        "incoming_host": mailenv.host,
        "incoming_port": port,
        "incoming_security": Security.TLS,
        "incoming_auth": AuthMethod.PASSWORD,
        "incoming_username": address,
    }
    password = fields.pop("password", INCOMING_PASSWORD)
    values.update(fields)
    with runtime.tenant(company_id) as session:
        account = Account(**values)
        account.incoming_password_encrypted = runtime.secret_box.encrypt(Secret(password))
        session.add(account)
        session.flush()
        return account.id


def fetch(
    runtime: Runtime,
    company_id: int,
    account_id: int,
    options: FetchOptions = SMALL,
    progress: list[Progress] | None = None,
    on_progress: Callable[[Progress], object] | None = None,
) -> FetchResult:
    """One fetch by the worker "tests"; each progress step is kept in `progress` and then
    given to `on_progress` (which may crash the fetch, or change things behind its back)."""

    def told(step: Progress) -> None:
        if progress is not None:
            progress.append(step)
        if on_progress is not None:
            on_progress(step)

    return asyncio.run(
        run_fetch(
            runtime,
            company_id=company_id,
            account_id=account_id,
            worker_id="tests",
            options=options,
            on_progress=told,
        )
    )


@contextlib.contextmanager
def other_client(
    mailenv: MailEnv, address: str, password: str = INCOMING_PASSWORD
) -> Iterator[imaplib.IMAP4_SSL]:
    """imaplib logged in to the mailbox: "another client" changing it behind Postroom's back."""
    context = ssl.create_default_context(cafile=str(mailenv.ca_file))
    client = imaplib.IMAP4_SSL(mailenv.host, mailenv.imaps_port, ssl_context=context)
    client.login(address, password)
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def quoted_folder(name: str) -> str:
    return '"' + encode_mailbox_name(name).replace("\\", "\\\\").replace('"', '\\"') + '"'


def messages(count: int, *, start: int = 0, seed: int = 11, to: str = "") -> list[bytes]:
    """Realistic messages (tests/fixtures/fill_mailbox.py) with CRLF line ends, as IMAP has them."""
    series = Series(seed, to_addr=to or "alice@example.test", attach_ratio=0.2)
    return [series.message(i)[0].replace(b"\n", b"\r\n") for i in range(start, start + count)]


def append(
    client: imaplib.IMAP4_SSL,
    folder: str,
    raws: Sequence[bytes],
    *,
    flags: str = "",
    when: datetime | None = None,
) -> None:
    for raw in raws:
        status, answer = client.append(quoted_folder(folder), flags, when, raw)  # type: ignore[arg-type]
        assert status == "OK", answer


@dataclass(frozen=True)
class Stored:
    """A stored message, read back detached from its session."""

    id: int
    folder: str
    uid: int | None
    uidvalidity: int | None
    pop_uidl: str | None
    sha256: str
    blob_key: str
    message_id: str | None
    subject: str
    seen: bool
    flagged: bool
    from_history: bool


def stored(runtime: Runtime, company_id: int, account_id: int) -> list[Stored]:
    with runtime.tenant(company_id) as session:
        rows = session.execute(
            select(MailMessage, MailFolder.path)
            .join(MailFolder, MailFolder.id == MailMessage.folder_id)
            .where(MailMessage.account_id == account_id)
            .order_by(MailFolder.path, MailMessage.uid, MailMessage.id)
        ).all()
        return [
            Stored(
                m.id,
                path,
                m.uid,
                m.uidvalidity,
                m.pop_uidl,
                m.content_sha256,
                m.blob_key,
                m.message_id_header,
                m.subject,
                m.seen,
                m.flagged,
                m.from_history,
            )
            for m, path in rows
        ]


def folders(runtime: Runtime, company_id: int, account_id: int) -> dict[str, MailFolder]:
    with runtime.tenant(company_id) as session:
        rows = session.scalars(select(MailFolder).where(MailFolder.account_id == account_id))
        return {row.path: row for row in rows}


def state(runtime: Runtime, company_id: int, account_id: int) -> MailSyncState:
    with runtime.tenant(company_id) as session:
        found = session.get(MailSyncState, account_id)
        assert found is not None
        return found


def account_row(runtime: Runtime, company_id: int, account_id: int) -> Account:
    with runtime.tenant(company_id) as session:
        found = session.get(Account, account_id)
        assert found is not None
        return found
