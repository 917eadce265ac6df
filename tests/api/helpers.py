"""Small API helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.fixtures.mailenv import MailEnv
from tests.support import MAILBOX_PASSWORD, Member

DEFAULT_ADDRESS = "biuro@alfa.example.test"


def mailbox(mailenv: MailEnv, address: str, password: str = MAILBOX_PASSWORD) -> None:
    """Make `address` a mailbox of the local servers with `password` (once per run and value)."""
    if mailenv.users.get(address) != password:
        mailenv.add_user(address, password)


def working_settings(mailenv: MailEnv, **fields: Any) -> dict[str, Any]:
    """Account settings that pass the connection test against the local Postfix (no incoming
    server unless `fields` add one); `fields` override them."""
    body: dict[str, Any] = {
        "email_address": DEFAULT_ADDRESS,
        "smtp_host": mailenv.host,
        "smtp_port": mailenv.submission_port,
        "smtp_security": "starttls",
        "smtp_password": MAILBOX_PASSWORD,
    }
    body.update(fields)
    _ensure_mailboxes(mailenv, body)
    return body


def imap_settings(mailenv: MailEnv, **fields: Any) -> dict[str, Any]:
    """Incoming settings for the local Dovecot over IMAPS; `fields` override them."""
    return {
        "incoming_protocol": "imap",
        "incoming_host": mailenv.host,
        "incoming_port": mailenv.imaps_port,
        "incoming_security": "tls",
        "incoming_password": MAILBOX_PASSWORD,
        **fields,
    }


def _ensure_mailboxes(mailenv: MailEnv, body: dict[str, Any]) -> None:
    """The servers must know every login with its password, and the address itself (the SMTP
    test sends RCPT TO the account's own address)."""
    address = body["email_address"]
    logins: dict[str, str] = {}
    sides = ["smtp"] if body.get("incoming_protocol", "none") == "none" else ["smtp", "incoming"]
    for side in sides:
        password = body.get(f"{side}_password")
        if password is not None and body.get(f"{side}_auth", "password") != "none":
            login = body.get(f"{side}_username") or address
            assert logins.setdefault(login, password) == password, f"two passwords for {login}"
    for login, password in logins.items():
        mailbox(mailenv, login, password)
    if address not in mailenv.users:
        mailbox(mailenv, address)


def create_account(
    client: TestClient, member: Member, mailenv: MailEnv, **fields: Any
) -> dict[str, Any]:
    """An account through the API, with settings that pass its connection test by default."""
    body = working_settings(mailenv, **fields)
    response = client.post("/api/v1/accounts", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def create(client: TestClient, member: Member, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1/{path}", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
