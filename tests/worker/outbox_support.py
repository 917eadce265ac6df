"""Helpers for outbox tests: accounts, queued messages built with the email package, runs."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.db.models_outbox import OutboxBody, OutboxMessage, OutboxRecipient
from postroom.enums import AuthMethod, IncomingProtocol, RecipientKind, Security
from postroom.secrets import Secret
from postroom.services.delivery import DeliveryEngine, DeliveryOptions
from postroom.services.outbox import RetryPolicy
from postroom.services.runtime import Runtime

FAST = DeliveryOptions(
    connections_per_route=2,
    batch_size=50,
    lease_seconds=60,
    smtp_timeout=10,
    connect_timeout=10,
    poll_seconds=0.05,
    idle_seconds=0.2,
    policy=RetryPolicy(base_seconds=60, max_seconds=600),
)


def make_account(runtime: Runtime, company_id: int, **fields: Any) -> int:
    """An account row (no connection test); `password` is stored encrypted."""
    password = fields.pop("password", None)
    incoming_password = fields.pop("incoming_password", None)
    values: dict[str, Any] = {
        "email_address": "sender@example.test",
        "smtp_host": "127.0.0.1",
        "smtp_port": 25,
        "smtp_security": Security.NONE,
        "smtp_auth": AuthMethod.NONE,
    }
    values.update(fields)
    with runtime.tenant(company_id) as session:
        account = Account(**values)
        if password is not None:
            account.smtp_password_encrypted = runtime.secret_box.encrypt(Secret(password))
        if incoming_password is not None:
            account.incoming_password_encrypted = runtime.secret_box.encrypt(
                Secret(incoming_password)
            )
        session.add(account)
        session.flush()
        return account.id


def imap_fields(host: str, port: int, login: str, password: str) -> dict[str, Any]:
    return {
        "incoming_protocol": IncomingProtocol.IMAP,
        "incoming_host": host,
        "incoming_port": port,
        "incoming_security": Security.TLS,
        "incoming_auth": AuthMethod.PASSWORD,
        "incoming_username": login,
        "incoming_password": password,
    }


def build_mime(
    sender: str, recipients: list[str], subject: str, body: str = ""
) -> tuple[bytes, str]:
    domain = sender.rpartition("@")[2]
    message_id = f"{uuid.uuid4().hex}@{domain}"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{message_id}>"
    message.set_content(body or f"Body of {subject}.\n")
    return message.as_bytes(policy=SMTP), message_id


def enqueue(
    runtime: Runtime,
    company_id: int,
    account_id: int | None,
    recipients: list[str],
    *,
    sender: str = "sender@example.test",
    subject: str = "Faktura",
    deadline: timedelta = timedelta(days=3),
    via_relay: bool = False,
) -> int:
    """A queued message as the messages service leaves it: full MIME, recipients pending."""
    raw, message_id = build_mime(sender, recipients, subject)
    now = utcnow()
    with runtime.tenant(company_id) as session:
        message = OutboxMessage(
            account_id=account_id,
            via_relay=via_relay,
            message_id=message_id,
            envelope_from=sender,
            subject=subject,
            body=OutboxBody(mime=raw),
            size=len(raw),
            next_attempt_at=now,
            deadline_at=now + deadline,
            recipients=[OutboxRecipient(address=a, kind=RecipientKind.TO) for a in recipients],
        )
        session.add(message)
        session.flush()
        return message.id


def run_engine(
    runtime: Runtime, options: DeliveryOptions = FAST, worker_id: str = "test:1:a"
) -> DeliveryEngine:
    """Deliver everything due, record it, stop; returns the engine (for its counters)."""
    engine = DeliveryEngine(runtime, worker_id=worker_id, options=options)
    asyncio.run(asyncio.wait_for(engine.run(asyncio.Event(), until_idle=True), timeout=60))
    return engine


async def run_engine_async(
    runtime: Runtime, options: DeliveryOptions = FAST, worker_id: str = "test:1:a"
) -> DeliveryEngine:
    engine = DeliveryEngine(runtime, worker_id=worker_id, options=options)
    await asyncio.wait_for(engine.run(asyncio.Event(), until_idle=True), timeout=60)
    return engine


def load(runtime: Runtime, company_id: int, message_id: int) -> OutboxMessage:
    with runtime.tenant(company_id) as session:
        found = session.get(OutboxMessage, message_id)
        assert found is not None
        _ = (found.recipients, found.attempts)
        session.expunge_all()
        return found


def make_due(runtime: Runtime, company_id: int, message_id: int) -> None:
    """Skip the backoff wait: the retry is due now."""
    with runtime.tenant(company_id) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def account_row(runtime: Runtime, company_id: int, account_id: int) -> Account:
    with runtime.tenant(company_id) as session:
        found = session.scalar(select(Account).where(Account.id == account_id))
        assert found is not None
        session.expunge_all()
        return found


def wait_for_file_with(folder: Path, needle: bytes, timeout: float = 15.0) -> Path:
    """The first file under `folder` (a Maildir) that contains `needle`, waiting for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := files_with(folder, needle):
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"nothing containing {needle!r} arrived in {folder}")


def messages_in(folder: Path) -> list[Path]:
    """The message files of one Maildir folder (new/ and cur/; not Dovecot's index files)."""
    return [
        p for sub in ("new", "cur") if (folder / sub).is_dir() for p in (folder / sub).iterdir()
    ]


def files_with(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in messages_in(folder) if needle in p.read_bytes()]
