"""Delivery against a local SMTP server scripted per test: 4xx, 5xx, per-recipient, deadlines."""

from __future__ import annotations

import socket
from datetime import timedelta

from postroom.enums import AttemptOutcome, MessageStatus, RecipientStatus
from postroom.services.runtime import Runtime
from tests.fixtures.scripted_smtp import Script, scripted_smtp
from tests.support import Tenant
from tests.worker.outbox_support import (
    account_row,
    enqueue,
    load,
    make_account,
    make_due,
    run_engine_async,
)

GOOD, BAD = "anna@klient.test", "nikt@klient.test"


async def test_a_4xx_is_retried_later_then_sent(runtime: Runtime, tenant: Tenant) -> None:
    script = Script(data_end=["451 4.3.0 Temporary local problem, try later", "250 2.0.0 Ok"])
    async with scripted_smtp(script) as server:
        account = make_account(runtime, tenant.company_id, smtp_port=server.port)
        mid = enqueue(runtime, tenant.company_id, account, [GOOD])
        await run_engine_async(runtime)
        first = load(runtime, tenant.company_id, mid)
        assert first.status is MessageStatus.RETRYING
        assert first.last_code == 451 and "try later" in (first.last_reply or "")
        assert first.next_attempt_at > first.attempts[0].finished_at  # type: ignore[operator]
        assert [a.outcome for a in first.attempts] == [AttemptOutcome.TEMPORARY_FAILURE]
        assert first.recipients[0].status is RecipientStatus.DEFERRED
        assert server.received == []

        await run_engine_async(runtime)  # not due yet: nothing happens
        assert len(load(runtime, tenant.company_id, mid).attempts) == 1

        make_due(runtime, tenant.company_id, mid)
        await run_engine_async(runtime)
    done = load(runtime, tenant.company_id, mid)
    assert done.status is MessageStatus.SENT and done.sent_at is not None
    assert [a.outcome for a in done.attempts] == [
        AttemptOutcome.TEMPORARY_FAILURE,
        AttemptOutcome.SENT,
    ]
    assert done.attempt_count == 2 and done.lease_owner is None
    assert done.recipients[0].status is RecipientStatus.ACCEPTED
    assert len(server.received) == 1 and done.message_id.encode() in server.received[0].data


async def test_one_refused_recipient_does_not_hide_the_other(
    runtime: Runtime, tenant: Tenant
) -> None:
    script = Script(rcpt={BAD: ["550 5.1.1 <nikt@klient.test>: Recipient address rejected"]})
    async with scripted_smtp(script) as server:
        account = make_account(runtime, tenant.company_id, smtp_port=server.port)
        mid = enqueue(runtime, tenant.company_id, account, [BAD, GOOD])
        await run_engine_async(runtime)
    message = load(runtime, tenant.company_id, mid)
    assert message.status is MessageStatus.SENT
    by_address = {r.address: r for r in message.recipients}
    assert by_address[GOOD].status is RecipientStatus.ACCEPTED
    refused = by_address[BAD]
    assert refused.status is RecipientStatus.REFUSED and refused.code == 550
    assert "Recipient address rejected" in (refused.reply or "")
    assert [r.recipients for r in server.received] == [[GOOD]]


async def test_552_to_rcpt_is_temporary(runtime: Runtime, tenant: Tenant) -> None:
    # RFC 5321 §4.5.3.1.10: 552 to RCPT is to be treated as the temporary 452.
    script = Script(rcpt={GOOD: ["552 5.2.2 Mailbox full"]})
    async with scripted_smtp(script) as server:
        account = make_account(runtime, tenant.company_id, smtp_port=server.port)
        mid = enqueue(runtime, tenant.company_id, account, [GOOD])
        await run_engine_async(runtime)
    message = load(runtime, tenant.company_id, mid)
    assert message.status is MessageStatus.RETRYING
    assert message.recipients[0].status is RecipientStatus.DEFERRED


async def test_a_5xx_after_the_data_fails_at_once(runtime: Runtime, tenant: Tenant) -> None:
    script = Script(data_end=["554 5.7.1 Message rejected as spam"])
    async with scripted_smtp(script) as server:
        account = make_account(runtime, tenant.company_id, smtp_port=server.port)
        mid = enqueue(runtime, tenant.company_id, account, [GOOD])
        await run_engine_async(runtime)
        make_due(runtime, tenant.company_id, mid)  # even if due again, it is not retried
        await run_engine_async(runtime)
    message = load(runtime, tenant.company_id, mid)
    assert message.status is MessageStatus.FAILED
    assert message.last_code == 554
    assert message.last_reply == "554 5.7.1 Message rejected as spam"
    assert [a.outcome for a in message.attempts] == [AttemptOutcome.PERMANENT_FAILURE]
    assert message.recipients[0].status is RecipientStatus.REFUSED


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_network_error_is_retried(runtime: Runtime, tenant: Tenant) -> None:
    port = _closed_port()
    account = make_account(runtime, tenant.company_id, smtp_port=port)
    mid = enqueue(runtime, tenant.company_id, account, [GOOD])
    await run_engine_async(runtime)
    message = load(runtime, tenant.company_id, mid)
    assert message.status is MessageStatus.RETRYING
    assert [a.outcome for a in message.attempts] == [AttemptOutcome.NETWORK_ERROR]
    assert f"port {port}" in (message.last_reply or "")  # the error, in words
    assert message.recipients[0].status is RecipientStatus.DEFERRED
    health = account_row(runtime, tenant.company_id, account)
    assert health.consecutive_failures == 1 and health.last_error


async def test_a_connection_lost_after_the_data_is_retried(
    runtime: Runtime, tenant: Tenant
) -> None:
    async with scripted_smtp(Script(drop_after_data=True)) as server:
        account = make_account(runtime, tenant.company_id, smtp_port=server.port)
        mid = enqueue(runtime, tenant.company_id, account, [GOOD])
        await run_engine_async(runtime)
    message = load(runtime, tenant.company_id, mid)
    assert message.status is MessageStatus.RETRYING
    assert "may have accepted it" in (message.last_reply or "")


async def test_past_the_deadline_a_temporary_failure_is_final(
    runtime: Runtime, tenant: Tenant
) -> None:
    script = Script(data_end=["421 4.3.2 Service shutting down"])
    async with scripted_smtp(script) as server:
        account = make_account(runtime, tenant.company_id, smtp_port=server.port)
        mid = enqueue(runtime, tenant.company_id, account, [GOOD], deadline=timedelta(0))
        await run_engine_async(runtime)
    message = load(runtime, tenant.company_id, mid)
    assert message.status is MessageStatus.FAILED
    assert message.last_code == 421 and "shutting down" in (message.last_reply or "")
    assert [a.outcome for a in message.attempts] == [AttemptOutcome.TEMPORARY_FAILURE]
    assert message.recipients[0].status is RecipientStatus.REFUSED


async def test_one_connection_carries_many_messages(runtime: Runtime, tenant: Tenant) -> None:
    async with scripted_smtp() as server:
        account = make_account(runtime, tenant.company_id, smtp_port=server.port)
        ids = [enqueue(runtime, tenant.company_id, account, [GOOD]) for _ in range(12)]
        await run_engine_async(runtime)
    assert all(load(runtime, tenant.company_id, i).status is MessageStatus.SENT for i in ids)
    assert len(server.received) == 12
    assert server.connections <= 2  # FAST allows two per server: reused, not one per message
    # RFC 2920: MAIL, RCPT and DATA went out together, before any reply was read.
    assert server.commands.count("DATA") == 12


async def test_without_pipelining_commands_go_one_by_one(runtime: Runtime, tenant: Tenant) -> None:
    script = Script(pipelining=False, rcpt={BAD: ["550 5.1.1 unknown"]})
    async with scripted_smtp(script) as server:
        account = make_account(runtime, tenant.company_id, smtp_port=server.port)
        both = enqueue(runtime, tenant.company_id, account, [BAD, GOOD])
        only_bad = enqueue(runtime, tenant.company_id, account, [BAD])
        await run_engine_async(runtime)
    assert load(runtime, tenant.company_id, both).status is MessageStatus.SENT
    assert load(runtime, tenant.company_id, only_bad).status is MessageStatus.FAILED
    assert len(server.received) == 1
