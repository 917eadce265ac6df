"""What happens when new mail (not the first import's history) is stored: one entry point.

The sync engines (IMAP, POP3) commit new mail marked `rules_pending` (listed at once) and,
after the download, call `run_pending_rules`: each transaction takes up to a batch of the
account's marked messages, applies `on_new_mail` and clears the mark, so the rules run
exactly once per message even if the worker dies in between (the next fetch finds the
mark). `on_new_mail` runs the account's rules:
DSN bounce matching (services/bounces.py), contacts and tasks (A7, D5), in-app new-mail
notifications (A7) and the autoresponder (A9, RFC 3834).

Each rule runs in its own savepoint: a rule that fails is logged and undone, and the others
and the stored mail are kept (receiving mail must not depend on, say, a task title).
Only mail that arrived counts: not what another client filed in Sent, Drafts, Trash or Junk,
and not a message the account already had under another UID (moved between folders).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from postroom.db.models import Account
from postroom.db.models_mailbox import MailMessage
from postroom.services import autoresponder, contacts, notifications, tasks
from postroom.services.arrivals import Arrival, load_arrivals
from postroom.services.bounces import apply_dsn
from postroom.services.contacts_from_mail import SenderContext, contact_for_message, person_address
from postroom.services.mail_senders import free_mail_domains, own_addresses
from postroom.services.runtime import Runtime
from postroom.storage.files import StoredBlobMissingError
from postroom.storage.mailstore import MailStore, mail_store_for

log = logging.getLogger("postroom.new_mail")
ResultT = TypeVar("ResultT")


def _guarded(
    session: Session, account: Account, rule: str, action: Callable[[], ResultT]
) -> ResultT | None:
    try:
        with session.begin_nested():
            return action()
    except Exception:
        log.exception("new-mail rule failed", extra={"rule": rule, "account_id": account.id})
        return None


def _bounces(session: Session, store: MailStore, arrivals: Sequence[Arrival]) -> set[int]:
    """Apply every delivery report to the outbox; the ids of those that matched a message."""
    matched: set[int] = set()
    for arrival in arrivals:
        if not arrival.is_delivery_report:
            continue
        try:
            raw = store.read(arrival.message.blob_key)
        except StoredBlobMissingError:
            continue
        if apply_dsn(session, raw).applied:
            matched.add(arrival.message.id)
    return matched


def _contacts(
    session: Session, arrivals: Sequence[Arrival], context: SenderContext
) -> dict[int, int]:
    """Message id -> contact id, creating contacts and clients for new senders."""
    found: dict[int, int] = {}
    for arrival in arrivals:
        contact = contact_for_message(session, arrival.message, context)
        if contact is not None:
            found[arrival.message.id] = contact.id
    return found


def _tasks(
    session: Session,
    arrivals: Sequence[Arrival],
    context: SenderContext,
    known_contacts: dict[int, int],
) -> int:
    made = 0
    for arrival in arrivals:
        message = arrival.message
        contact_id = known_contacts.get(message.id)
        if contact_id is None and (address := person_address(message, context)) is not None:
            existing = contacts.find_by_email(session, address)
            contact_id = existing.id if existing is not None else None
        if tasks.create_task_for_message(session, message=message, contact_id=contact_id):
            made += 1
    return made


def on_new_mail(
    runtime: Runtime, session: Session, account: Account, messages: Sequence[MailMessage]
) -> None:
    """Apply the account's rules to newly arrived messages (never to history)."""
    fresh = [message for message in messages if not message.from_history]
    if not fresh:
        return
    session.flush()  # the caller's rows are written before any rule's savepoint
    store = mail_store_for(runtime.settings.data_dir)
    arrivals = load_arrivals(session, store, account.id, fresh)
    reports = _guarded(session, account, "bounces", lambda: _bounces(session, store, arrivals))
    incoming = [a for a in arrivals if a.arrived and a.message.id not in (reports or set())]
    if not incoming:
        return
    settings = runtime.settings
    context = SenderContext(own_addresses(session, settings), free_mail_domains(settings))
    known: dict[int, int] = {}
    if account.create_contacts:
        known = (
            _guarded(session, account, "contacts", lambda: _contacts(session, incoming, context))
            or {}
        )
    if account.create_tasks:
        _guarded(session, account, "tasks", lambda: _tasks(session, incoming, context, known))
    if account.notifications:
        messages_in = [a.message for a in incoming]
        _guarded(
            session,
            account,
            "notifications",
            lambda: notifications.notify_new_mail(session, account=account, messages=messages_in),
        )
    _guarded(
        session,
        account,
        "autoresponder",
        lambda: autoresponder.answer_new_mail(
            runtime, session, account=account, arrivals=incoming, own=context.own_addresses
        ),
    )


def run_pending_rules(
    runtime: Runtime, session: Session, account: Account, *, limit: int = 500
) -> int:
    """Run the rules for up to `limit` of the account's messages still marked, oldest first,
    and clear their mark in the caller's transaction; how many there were."""
    rows = session.scalars(
        select(MailMessage)
        .where(MailMessage.account_id == account.id, MailMessage.rules_pending == true())
        .order_by(MailMessage.id)
        .limit(limit)
    ).all()
    if rows:
        on_new_mail(runtime, session, account, rows)
        for row in rows:
            row.rules_pending = False
    return len(rows)
