"""Account health: runs of failed connections and logins, and the "needs attention" state."""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.enums import AttentionReason
from postroom.mail.report import AccountTestReport, Advice, StepName

log = logging.getLogger("postroom.account_health")

MAX_ERROR_LENGTH = 2000
# A failed login step with one of these means the server refused the credentials themselves;
# a timeout or a broken connection during the login step is a connection failure.
_REFUSED_LOGIN = frozenset(
    {Advice.WRONG_PASSWORD, Advice.APP_PASSWORD, Advice.USE_OAUTH2, Advice.OAUTH_TOKEN_REJECTED}
)


class FailureKind(StrEnum):
    AUTH = "auth"  # the server refused the login
    CONNECTION = "connection"  # anything else: DNS, TCP, TLS, timeouts, refused commands


def record_success(account: Account, *, now: datetime | None = None) -> None:
    """A connection and login worked: the runs of failures end.

    It also ends a "needs attention" for repeated login failures, since the login works
    again; a "reconnect" for a refused OAuth sign-in ends only with a new sign-in.
    """
    account.consecutive_failures = 0
    account.consecutive_auth_failures = 0
    account.last_success_at = now or utcnow()
    if account.attention_reason == AttentionReason.AUTH_FAILURES.value:
        account.needs_attention = False
        account.attention_reason = None


def record_failure(
    account: Account,
    *,
    kind: FailureKind,
    server_words: str,
    auth_failure_limit: int,
    now: datetime | None = None,
) -> bool:
    """Count one failure; True when it has just put the account into "needs attention".

    Only a success ends a run of login failures: a connection failure in between proves
    nothing about the password.
    """
    account.consecutive_failures += 1
    if kind is FailureKind.AUTH:
        account.consecutive_auth_failures += 1
    account.last_error = server_words[:MAX_ERROR_LENGTH]
    account.last_error_at = now or utcnow()
    if account.needs_attention or account.consecutive_auth_failures < auth_failure_limit:
        return False
    account.needs_attention = True
    account.attention_reason = AttentionReason.AUTH_FAILURES.value
    log.warning(
        "account needs attention after repeated login failures",
        extra={"account_id": account.id, "failures": account.consecutive_auth_failures},
    )
    return True


def record_test(account: Account, report: AccountTestReport, *, auth_failure_limit: int) -> bool:
    """Store a test's report on the account and count its outcome; True as record_failure."""
    account.last_test_report = report.as_dict()
    failure = report.failure
    if failure is None:
        # A test that stopped before an OAuth2 login (no sign-in yet) proved no login.
        if not any(s.advice is Advice.OAUTH_NOT_CONNECTED for p in report.probes for s in p.steps):
            record_success(account)
        return False
    _probe, step = failure
    refused_login = step.name is StepName.AUTH and step.advice in _REFUSED_LOGIN
    return record_failure(
        account,
        kind=FailureKind.AUTH if refused_login else FailureKind.CONNECTION,
        server_words=step.server_reply or step.detail,
        auth_failure_limit=auth_failure_limit,
    )
