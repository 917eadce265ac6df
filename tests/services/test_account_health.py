"""Account health counters: which failures count, the limit, and what a success ends."""

from __future__ import annotations

from postroom.db.models import Account
from postroom.enums import AttentionReason, Security
from postroom.mail.report import (
    AccountTestReport,
    Advice,
    ProbeKind,
    ProbeReport,
    Step,
    StepName,
    StepStatus,
)
from postroom.services.account_health import (
    FailureKind,
    record_failure,
    record_success,
    record_test,
)

LIMIT = 10


def _account() -> Account:
    return Account(
        email_address="a@example.test",
        consecutive_failures=0,
        consecutive_auth_failures=0,
        needs_attention=False,
    )


def _report(*steps: Step) -> AccountTestReport:
    probe = ProbeReport(ProbeKind.SMTP, "smtp.example.test", 587, Security.STARTTLS, steps, 5)
    return AccountTestReport(outgoing=probe, incoming=None)


def test_ten_refused_logins_in_a_row_need_attention() -> None:
    account = _account()
    for _ in range(LIMIT - 1):
        assert not record_failure(
            account, kind=FailureKind.AUTH, server_words="535 no", auth_failure_limit=LIMIT
        )
    assert account.needs_attention is False
    assert record_failure(
        account, kind=FailureKind.AUTH, server_words="535 no", auth_failure_limit=LIMIT
    )
    assert account.needs_attention is True
    assert account.attention_reason == AttentionReason.AUTH_FAILURES.value
    assert (account.consecutive_failures, account.consecutive_auth_failures) == (LIMIT, LIMIT)
    assert not record_failure(
        account, kind=FailureKind.AUTH, server_words="535 no", auth_failure_limit=LIMIT
    ), "entering the state is reported once"


def test_connection_failures_do_not_count_as_refused_logins() -> None:
    account = _account()
    for _ in range(LIMIT * 2):
        record_failure(
            account, kind=FailureKind.CONNECTION, server_words="timeout", auth_failure_limit=LIMIT
        )
    assert account.needs_attention is False and account.consecutive_auth_failures == 0
    assert account.consecutive_failures == LIMIT * 2 and account.last_error == "timeout"


def test_a_success_ends_the_runs_and_the_login_failure_state_only() -> None:
    account = _account()
    for _ in range(LIMIT):
        record_failure(account, kind=FailureKind.AUTH, server_words="x", auth_failure_limit=LIMIT)
    record_success(account)
    assert account.needs_attention is False and account.attention_reason is None
    assert (account.consecutive_failures, account.consecutive_auth_failures) == (0, 0)
    assert account.last_success_at is not None
    account.needs_attention = True
    account.attention_reason = AttentionReason.OAUTH_RECONNECT.value
    record_success(account)
    assert account.needs_attention is True, "only a new sign-in ends an OAuth reconnect"


def test_a_report_counts_by_its_failed_step() -> None:
    account = _account()
    refused = Step(
        StepName.AUTH, StepStatus.FAILED, 3, "refused", "535 5.7.8", Advice.WRONG_PASSWORD
    )
    record_test(account, _report(refused), auth_failure_limit=LIMIT)
    assert (account.consecutive_failures, account.consecutive_auth_failures) == (1, 1)
    assert account.last_error == "535 5.7.8" and account.last_test_report is not None
    slow = Step(StepName.AUTH, StepStatus.FAILED, 3, "No answer", None, Advice.NO_ANSWER)
    record_test(account, _report(slow), auth_failure_limit=LIMIT)
    assert (account.consecutive_failures, account.consecutive_auth_failures) == (2, 1)
    assert account.last_error == "No answer"


def test_a_test_stopped_before_an_oauth_sign_in_proves_nothing() -> None:
    account = _account()
    record_failure(account, kind=FailureKind.AUTH, server_words="x", auth_failure_limit=LIMIT)
    waiting = Step(
        StepName.AUTH, StepStatus.SKIPPED, 0, "Not signed in", None, Advice.OAUTH_NOT_CONNECTED
    )
    record_test(account, _report(waiting), auth_failure_limit=LIMIT)
    assert account.consecutive_auth_failures == 1 and account.last_success_at is None
