"""The OAuth2 flow as a browser walks it, and XOAUTH2 logins with the standard library."""

from __future__ import annotations

import asyncio
import base64
import imaplib
import poplib
import smtplib
import ssl
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from postroom.db.models import Account
from postroom.mail.credentials import xoauth2_initial_response
from postroom.secrets import Secret
from postroom.services.oauth_tokens import REFRESH_MARGIN, get_access_token
from postroom.services.runtime import Runtime
from tests.api.helpers import create_account, imap_settings
from tests.fixtures.mailenv import MailEnv
from tests.support import Member, Tenant


def mail_account(
    client: TestClient, member: Member, mailenv: MailEnv, address: str, **fields: Any
) -> int:
    """An account on the local Dovecot/Postfix (submission with STARTTLS, IMAP over TLS), saved
    after its connection test passed with the mailbox password."""
    settings = {**imap_settings(mailenv), "email_address": address, **fields}
    return int(create_account(client, member, mailenv, **settings)["id"])


def start(client: TestClient, member: Member, account_id: int, **body: Any) -> httpx.Response:
    return client.post(
        f"/api/v1/accounts/{account_id}/oauth/start", headers=member.headers, json=body
    )


def consent(authorization_url: str) -> str:
    """What the user's browser does at the provider: it approves and is sent back."""
    with httpx.Client() as browser:
        answer = browser.get(authorization_url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def connect(client: TestClient, member: Member, account_id: int, **body: Any) -> httpx.Response:
    """The whole sign-in: start, consent, the callback; returns the callback's answer."""
    started = start(client, member, account_id, **{"provider": "google", **body})
    assert started.status_code == 200, started.text
    callback = consent(started.json()["authorization_url"])
    return client.get(callback, follow_redirects=False)


def access_token(
    tenant: Tenant,
    account_id: int,
    *,
    now: datetime | None = None,
    margin: timedelta = REFRESH_MARGIN,
) -> str:
    token = asyncio.run(
        get_access_token(
            tenant.runtime,
            company_id=tenant.company_id,
            account_id=account_id,
            now=now,
            margin=margin,
        )
    )
    return token.reveal()


def stored_account(runtime: Runtime, company_id: int, account_id: int) -> Account:
    with runtime.tenant(company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None
        return account


def _raw_xoauth2(username: str, token: str) -> str:
    # Postroom's own encoder; the libraries below want the raw string and encode it themselves.
    return base64.b64decode(xoauth2_initial_response(username, Secret(token))).decode()


def imap_login(mailenv: MailEnv, username: str, token: str) -> None:
    """IMAP AUTHENTICATE XOAUTH2 over TLS; raises imaplib.IMAP4.error when refused."""
    context = ssl.create_default_context(cafile=mailenv.ca_file)
    raw = _raw_xoauth2(username, token).encode()
    with imaplib.IMAP4_SSL(mailenv.host, mailenv.imaps_port, ssl_context=context) as imap:
        # On failure the server sends a JSON challenge; an empty answer ends the exchange.
        imap.authenticate("XOAUTH2", lambda challenge: b"" if challenge else raw)
        assert imap.select("INBOX")[0] == "OK"


def smtp_login(mailenv: MailEnv, username: str, token: str) -> None:
    """SMTP AUTH XOAUTH2 after STARTTLS (Postfix → Dovecot SASL); raises when refused."""
    context = ssl.create_default_context(cafile=mailenv.ca_file)
    with smtplib.SMTP(mailenv.host, mailenv.submission_port, timeout=20) as smtp:
        smtp.starttls(context=context)
        smtp.ehlo()
        assert "XOAUTH2" in smtp.esmtp_features["auth"].upper().split()
        smtp.auth(
            "XOAUTH2",
            lambda challenge=None: "" if challenge else _raw_xoauth2(username, token),
        )
        # Authenticated: Postfix now lets this sender relay to another of its mailboxes.
        smtp.mail(username)
        code, _ = smtp.rcpt("alice@example.test")
        assert code == 250


def pop3_login(mailenv: MailEnv, username: str, token: str) -> None:
    """POP3 AUTH XOAUTH2 over TLS; STAT answers only in the TRANSACTION state (RFC 1939)."""
    context = ssl.create_default_context(cafile=mailenv.ca_file)
    pop = poplib.POP3_SSL(mailenv.host, mailenv.pop3s_port, context=context, timeout=20)
    try:
        initial = base64.b64encode(_raw_xoauth2(username, token).encode()).decode()
        pop._shortcmd(f"AUTH XOAUTH2 {initial}")
        pop.stat()
    finally:
        pop.close()
