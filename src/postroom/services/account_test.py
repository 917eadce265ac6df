"""Testing an account's connection settings (A6): what to test, how, and the failed-test error."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from postroom.config import Settings
from postroom.db.models import Account
from postroom.enums import AuthMethod, IncomingProtocol
from postroom.errors import ConflictError
from postroom.mail.account_probe import AccountTarget, probe_account
from postroom.mail.connect import Endpoint, NetworkOptions
from postroom.mail.credentials import Credentials
from postroom.mail.imap_probe import MailboxTarget
from postroom.mail.netguard import NetworkPolicy, parse_networks
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.report import AccountTestReport
from postroom.mail.smtp_probe import SmtpTarget
from postroom.mail.steps import ProgressCallback
from postroom.secrets import Secret, SecretBox
from postroom.services import deliverability_section

log = logging.getLogger("postroom.account_test")

# Settings whose change means the connection must be tested again before saving (A6), by side.
# The address is the SMTP probe's MAIL FROM and RCPT TO, so it belongs to the outgoing side.
OUTGOING_FIELDS = (
    "email_address",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_cipher_level",
    "smtp_auth",
    "smtp_username",
    "smtp_password",
)
INCOMING_FIELDS = (
    "incoming_protocol",
    "incoming_host",
    "incoming_port",
    "incoming_security",
    "incoming_cipher_level",
    "incoming_auth",
    "incoming_username",
    "incoming_password",
)
CONNECTION_FIELDS = frozenset(OUTGOING_FIELDS + INCOMING_FIELDS)


class AccountTestFailedError(ConflictError):
    """A step of the account test failed, so the settings were not saved; `report` says where."""

    code = "account_test_failed"

    def __init__(self, report: AccountTestReport) -> None:
        super().__init__(report.summary() + " Nothing was saved.")
        self.report: dict[str, Any] = report.as_dict()


@dataclass(frozen=True)
class Sides:
    """Which servers a test covers."""

    outgoing: bool = True
    incoming: bool = True

    @property
    def any(self) -> bool:
        return self.outgoing or self.incoming


def changed_sides(before: dict[str, Any], after: dict[str, Any]) -> Sides:
    """The sides whose settings differ between two `history.snapshot`s (secrets: ciphertexts,
    so a password sent again counts as changed)."""

    def differs(fields: Collection[str]) -> bool:
        return any(before.get(name) != after.get(name) for name in fields)

    return Sides(outgoing=differs(OUTGOING_FIELDS), incoming=differs(INCOMING_FIELDS))


def _secret(box: SecretBox, token: str | None) -> Secret | None:
    return box.decrypt(token) if token is not None else None


def target_of(
    account: Account, box: SecretBox, *, sides: Sides = Sides(), send_test_message: bool = False
) -> AccountTarget:
    """What to test for an account as it stands in the session (saved or not yet).

    OAuth2 sides get no secret here: the access token is fetched just before the test
    (`with_oauth_token`), outside any database transaction.
    """
    return AccountTarget(
        outgoing=_outgoing(account, box) if sides.outgoing else None,
        incoming=_incoming(account, box) if sides.incoming else None,
        incoming_protocol=account.incoming_protocol,
        send_test_message=send_test_message,
    )


def _outgoing(account: Account, box: SecretBox) -> SmtpTarget:
    endpoint = Endpoint(
        account.smtp_host, account.smtp_port, account.smtp_security, account.smtp_cipher_level
    )
    secret = account.smtp_password_encrypted
    credentials = _credentials(account.smtp_auth, account.smtp_username, secret, box)
    return SmtpTarget(endpoint, credentials, account.email_address)


def _incoming(account: Account, box: SecretBox) -> MailboxTarget | None:
    if account.incoming_protocol is IncomingProtocol.NONE or not account.incoming_port:
        return None
    endpoint = Endpoint(
        account.incoming_host,
        account.incoming_port,
        account.incoming_security,
        account.incoming_cipher_level,
    )
    secret = account.incoming_password_encrypted
    credentials = _credentials(account.incoming_auth, account.incoming_username, secret, box)
    return MailboxTarget(endpoint, credentials, account.email_address)


def _credentials(
    method: AuthMethod, username: str, encrypted: str | None, box: SecretBox
) -> Credentials:
    secret = None if method is AuthMethod.OAUTH2 else _secret(box, encrypted)
    return Credentials(method=method, username=username, secret=secret)


def needs_oauth_token(target: AccountTarget) -> bool:
    return any(
        side is not None and side.credentials.method is AuthMethod.OAUTH2
        for side in (target.outgoing, target.incoming)
    )


def with_oauth_token(target: AccountTarget, token: Secret | None) -> AccountTarget:
    """The target with `token` as the secret of its OAuth2 logins."""

    def fill(credentials: Credentials) -> Credentials:
        if credentials.method is not AuthMethod.OAUTH2:
            return credentials
        return dataclasses.replace(credentials, secret=token)

    outgoing, incoming = target.outgoing, target.incoming
    return dataclasses.replace(
        target,
        outgoing=dataclasses.replace(outgoing, credentials=fill(outgoing.credentials))
        if outgoing
        else None,
        incoming=dataclasses.replace(incoming, credentials=fill(incoming.credentials))
        if incoming
        else None,
    )


def probe_options(settings: Settings, progress: ProgressCallback | None = None) -> ProbeOptions:
    """Network policy, trusted CAs and the time limit from the operator's settings."""
    network = NetworkOptions(
        policy=NetworkPolicy(parse_networks(settings.allowed_networks)),
        extra_ca_file=settings.extra_ca_file,
    )
    return ProbeOptions(
        network=network, timeout_seconds=settings.account_test_timeout_seconds, progress=progress
    )


async def probe_target(
    target: AccountTarget,
    settings: Settings,
    progress: ProgressCallback | None = None,
    *,
    account_id: int | None = None,
) -> AccountTestReport:
    """Run the probes (async callers: the worker, a streaming UI)."""
    # SPF, DKIM and DMARC of the address are looked up meanwhile (issue 9).
    domain_check = asyncio.ensure_future(
        deliverability_section.sender_domain_section(settings, target.outgoing)
    )
    report = await probe_account(target, probe_options(settings, progress))
    report = dataclasses.replace(report, sender_domain=await domain_check)
    failure = report.failure
    log.info(
        "account test finished",
        extra={
            "account_id": account_id,
            "ok": report.ok,
            "duration_ms": report.duration_ms,
            "failed_step": failure[1].name.value if failure else None,
        },
    )
    return report


def run_probe(target: AccountTarget, settings: Settings) -> AccountTestReport:
    """Run the probes from synchronous code (API endpoints run in FastAPI's thread pool)."""
    return asyncio.run(probe_target(target, settings))
