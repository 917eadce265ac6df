"""Postroom's own connection probes log in with XOAUTH2 using the account's refreshed token."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from fastapi.testclient import TestClient

from postroom.db.base import utcnow
from postroom.enums import AuthMethod, CipherLevel, Security
from postroom.mail.connect import Endpoint, NetworkOptions
from postroom.mail.credentials import Credentials
from postroom.mail.imap_probe import MailboxTarget, probe_imap
from postroom.mail.netguard import NetworkPolicy, parse_networks
from postroom.mail.pop3_probe import probe_pop3
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.report import ProbeReport, StepName
from postroom.mail.smtp_probe import SmtpTarget, probe_smtp
from postroom.services.oauth_tokens import get_access_token, xoauth2_credentials
from tests.fixtures.mailenv import MailEnv
from tests.fixtures.oauth_server import FakeOAuthServer
from tests.oauth.helpers import connect, mail_account
from tests.support import Tenant


def _options(mailenv: MailEnv) -> ProbeOptions:
    network = NetworkOptions(
        policy=NetworkPolicy(parse_networks("127.0.0.0/8")), extra_ca_file=mailenv.ca_file
    )
    return ProbeOptions(network=network)


async def _probe_all(
    mailenv: MailEnv, smtp: Credentials, incoming: Credentials
) -> list[ProbeReport]:
    options = _options(mailenv)

    def endpoint(port: int, security: Security) -> Endpoint:
        return Endpoint(mailenv.host, port, security, CipherLevel.DEFAULT)

    address = smtp.username
    return list(
        await asyncio.gather(
            probe_smtp(
                SmtpTarget(endpoint(mailenv.submission_port, Security.STARTTLS), smtp, address),
                options,
            ),
            probe_imap(
                MailboxTarget(endpoint(mailenv.imaps_port, Security.TLS), incoming, address),
                options,
            ),
            probe_pop3(
                MailboxTarget(endpoint(mailenv.pop3s_port, Security.TLS), incoming, address),
                options,
            ),
        )
    )


def test_probes_pass_with_a_refreshed_token(
    client: TestClient,
    tenant: Tenant,
    mailenv: MailEnv,
    oauth_mailbox: str,
    oauth_server: FakeOAuthServer,
) -> None:
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    assert connect(client, tenant.admin, account_id).status_code == 303

    async def run() -> list[ProbeReport]:
        later = utcnow() + timedelta(hours=2)  # the sign-in's token has expired by then
        ids = {"company_id": tenant.company_id, "account_id": account_id, "now": later}
        smtp = await xoauth2_credentials(tenant.runtime, **ids)
        incoming = await xoauth2_credentials(tenant.runtime, incoming=True, **ids)
        return await _probe_all(mailenv, smtp, incoming)

    reports = asyncio.run(run())

    assert oauth_server.token_requests() == ["authorization_code", "refresh_token"]
    for report in reports:
        assert report.ok, report.failed_step


def test_probes_fail_at_authentication_with_an_expired_token(
    client: TestClient,
    tenant: Tenant,
    mailenv: MailEnv,
    oauth_mailbox: str,
    oauth_server: FakeOAuthServer,
) -> None:
    oauth_server.configure(access_lifetime=1)
    account_id = mail_account(client, tenant.admin, mailenv, oauth_mailbox)
    assert connect(client, tenant.admin, account_id).status_code == 303
    ids = {"company_id": tenant.company_id, "account_id": account_id}
    # The stored token as it is (no refresh), then let it expire at the provider.
    token = asyncio.run(get_access_token(tenant.runtime, margin=timedelta(0), **ids))
    time.sleep(1.5)
    expired = Credentials(AuthMethod.OAUTH2, oauth_mailbox, token)

    reports = asyncio.run(_probe_all(mailenv, expired, expired))

    for report in reports:
        assert report.failed_step is not None
        assert report.failed_step.name is StepName.AUTH, report.failed_step
