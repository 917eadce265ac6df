"""What happens when new mail (not the first import's history) is stored: one entry point.

The sync engines (IMAP, POP3) call `on_new_mail` in the transaction that stored the
messages, with the messages of one account and one fetch. It runs the account's rules:
DSN bounce matching (services/bounces.py), contacts and tasks (A7, D5), in-app new-mail
notifications (A7) and the autoresponder (A9, RFC 3834).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from postroom.db.models import Account
from postroom.db.models_mailbox import MailMessage
from postroom.services.runtime import Runtime


def on_new_mail(
    runtime: Runtime, session: Session, account: Account, messages: Sequence[MailMessage]
) -> None:
    """Apply the account's rules to newly arrived messages (never to history)."""
    fresh = [message for message in messages if not message.from_history]
    if not fresh:
        return
