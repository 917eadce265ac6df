"""Fixtures of the mailbox tests: an IMAP account on the test Dovecot, mirrored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.mailbox.support import (
    imap_account,
    make_message,
    mirror_imap,
    new_address,
    server_messages,
)
from tests.support import Tenant


@dataclass(frozen=True)
class Mailbox:
    address: str
    account_id: int
    folders: dict[str, int]  # path -> folder id
    raws: list[bytes]  # in INBOX, in UID order, as the server has them


@pytest.fixture
def imap_mailbox(runtime: Runtime, tenant: Tenant, mailenv: MailEnv) -> Mailbox:
    """A fresh IMAP mailbox with three messages in INBOX, mirrored into the database."""
    address = new_address("skrzynka")
    account_id = imap_account(runtime, tenant.company_id, mailenv, address)
    for day, subject in enumerate(("Faktura 1/2024", "Oferta", "Przypomnienie"), start=1):
        raw = make_message(subject, when=datetime(2024, 3, day, 9, 30, tzinfo=UTC))
        mailenv.deliver(raw, address)
    # As stored by the server (LMTP adds Return-Path, Delivered-To and Received).
    delivered = server_messages(mailenv, address, "INBOX")
    raws = [delivered[uid]["raw"] for uid in sorted(delivered)]
    folders = mirror_imap(runtime, tenant.company_id, account_id, mailenv, address)
    return Mailbox(address, account_id, folders, raws)
