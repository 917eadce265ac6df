"""Reading what arrived at Dovecot the way a mail client does: IMAP over TLS (imaplib)."""

from __future__ import annotations

import imaplib
import ssl
import time

from tests.fixtures.mailenv import MailEnv

WAIT_SECONDS = 30.0


def fetch_arrived(mailenv: MailEnv, user: str, message_id: str) -> bytes:
    """The message with `message_id` from `user`'s INBOX, as IMAP serves it (CRLF, with the
    trace headers the servers added); waits for the delivery to complete."""
    context = ssl.create_default_context(cafile=mailenv.ca_file)
    deadline = time.monotonic() + WAIT_SECONDS
    with imaplib.IMAP4_SSL(mailenv.host, mailenv.imaps_port, ssl_context=context) as imap:
        imap.login(user, mailenv.users[user])
        while True:
            imap.select("INBOX", readonly=True)
            _status, found = imap.uid("SEARCH", "HEADER", "Message-ID", message_id)
            uids = found[0].split() if found and found[0] else []
            if uids:
                _status, data = imap.uid("FETCH", uids[-1], "(BODY.PEEK[])")
                part = data[0]
                assert isinstance(part, tuple)
                return bytes(part[1])
            if time.monotonic() > deadline:
                raise AssertionError(f"{message_id} did not reach {user}'s INBOX")
            time.sleep(0.2)
