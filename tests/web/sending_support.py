"""Helpers of the compose and outbox page tests: company settings, accounts, outbox rows."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from postroom.db.base import utcnow
from postroom.db.models import Account, AccountProject, Project, User
from postroom.db.models_outbox import DeliveryAttempt, OutboxMessage
from postroom.enums import AttemptOutcome, EmailMode
from postroom.services import drafts, messages
from postroom.services.message_schemas import DraftWrite, MessageCreate
from postroom.services.runtime import Runtime
from tests.services.relay_support import set_company
from tests.support import Member, Tenant

_ROW = re.compile(r'<tr data-message-id="(\d+)"')
_OPTION = re.compile(r'<option value="([^"]*)"[^>]*data-address="([^"]*)"[^>]*>')


def email_on(runtime: Runtime, tenant: Tenant, mode: EmailMode = EmailMode.OWN) -> None:
    set_company(runtime, tenant.company_id, email_mode=mode)


def add_project(runtime: Runtime, tenant: Tenant, name: str) -> int:
    with runtime.tenant(tenant.company_id) as session:
        project = Project(name=name)
        session.add(project)
        session.flush()
        return project.id


def add_account(
    runtime: Runtime,
    tenant: Tenant,
    address: str,
    *,
    owner: int | None = None,
    project: int | None = None,
    **fields: Any,
) -> int:
    """An account row as saved (no connection test): routing and the outbox need only this."""
    with runtime.tenant(tenant.company_id) as session:
        account = Account(
            owner_user_id=owner,
            email_address=address,
            display_name=address.split("@")[0].title(),
            smtp_host="smtp.example.test",
            projects=[AccountProject(project_id=project)] if project else [],
            **fields,
        )
        session.add(account)
        session.flush()
        return account.id


def offered(html: str) -> list[tuple[str, str]]:
    """(value, address) of each From option on a page, in order."""
    return _OPTION.findall(html)


def selected_sender(html: str) -> str:
    select = html.split('id="f-sender"', 1)[1].split("</select>", 1)[0]
    found = re.search(r'<option value="([^"]*)"[^>]*selected', select)
    assert found, "no From option is selected"
    return found.group(1)


def message_row(runtime: Runtime, tenant: Tenant, message_id: int) -> OutboxMessage:
    with runtime.tenant(tenant.company_id) as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        _ = row.body.mime, row.recipients, row.attempts  # loaded while the session is open
        return row


def drafts_of(runtime: Runtime, tenant: Tenant, user_id: int) -> list[tuple[int, DraftWrite]]:
    """The user's drafts as the drafts service lists them, last saved first."""
    with runtime.tenant(tenant.company_id) as session:
        user = session.get(User, user_id)
        assert user is not None
        rows, _ = drafts.list_drafts(session, actor=user)
        return [(row.id, drafts.fields_of(row)) for row in rows]


def record_attempt(
    runtime: Runtime,
    tenant: Tenant,
    message_id: int,
    outcome: AttemptOutcome,
    code: int,
    reply: str,
    **message_values: Any,
) -> None:
    """An attempt as the delivery worker records it, and the message's state after it."""
    with runtime.tenant(tenant.company_id) as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        now = utcnow()
        session.add(
            DeliveryAttempt(
                message_id=message_id,
                worker="tests",
                started_at=now - timedelta(seconds=1),
                finished_at=now,
                outcome=outcome,
                code=code,
                reply=reply,
            )
        )
        message.attempt_count += 1
        message.last_code, message.last_reply = code, reply
        for name, value in message_values.items():
            setattr(message, name, value)


def queue(
    runtime: Runtime,
    tenant: Tenant,
    member: Member,
    account_id: int,
    *,
    subject: str = "Faktura",
    kind: str = "other",
    to: list[str] | None = None,
) -> int:
    """A message submitted by `member` through the messages service, as Send queues it."""
    request = MessageCreate(
        to=list(to or ["jan@klient.example.test"]),
        subject=subject,
        text="Dzień dobry.",
        document_kind=kind,  # type: ignore[arg-type]
        account_id=account_id,
    )
    with runtime.tenant(tenant.company_id) as session:
        user = session.get(User, member.id)
        assert user is not None
        row = messages.submit_message(session, actor=user, request=request, runtime=runtime)
        return row.id


def ids_on(html: str) -> list[int]:
    """The message ids of the outbox rows on a page, top to bottom."""
    return [int(found) for found in _ROW.findall(html)]
