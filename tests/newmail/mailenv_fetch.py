"""Fetching from the real Dovecot with imaplib, the way a sync hands messages to the ingest."""

from __future__ import annotations

import imaplib
import re
import ssl
import time
from collections.abc import Sequence

from postroom.db.models import Account
from postroom.services.mail_prepare import IncomingMessage
from postroom.services.new_mail import on_new_mail
from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.newmail.support import store

_UID = re.compile(rb"UID (\d+)")


def fetch_inbox(
    mailenv: MailEnv, login: str, password: str, after_uid: int = 0
) -> list[IncomingMessage]:
    """Every message of the INBOX above `after_uid`, raw bytes as stored."""
    context = ssl.create_default_context(cafile=str(mailenv.ca_file))
    with imaplib.IMAP4_SSL(mailenv.host, mailenv.imaps_port, ssl_context=context) as imap:
        imap.login(login, password)
        imap.select("INBOX", readonly=True)
        uidvalidity = int(imap.response("UIDVALIDITY")[1][0] or b"0")
        _, found = imap.uid("SEARCH", f"UID {after_uid + 1}:*")
        uids = [int(u) for u in (found[0] or b"").split() if int(u) > after_uid]
        items = []
        for uid in uids:
            _, data = imap.uid("FETCH", str(uid), "(UID BODY.PEEK[])")
            raw = next(part[1] for part in data if isinstance(part, tuple))
            items.append(IncomingMessage(raw=raw, uid=uid, uidvalidity=uidvalidity))
        return items


def wait_for_inbox(
    mailenv: MailEnv, login: str, password: str, count: int, after_uid: int = 0, timeout: float = 30
) -> list[IncomingMessage]:
    """Wait until the INBOX has `count` new messages (mail through Postfix takes a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        items = fetch_inbox(mailenv, login, password, after_uid)
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.2)


def receive(
    runtime: Runtime, company_id: int, account_id: int, items: Sequence[IncomingMessage]
) -> list[int]:
    """What a fetch does with new messages: store them, then the new-mail rules, one commit."""
    with runtime.tenant(company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None
        stored = store(runtime, session, account, items)
        on_new_mail(runtime, session, account, stored)
        return [m.id for m in stored]
