"""Several senders at once (PostgreSQL): each notice is sent once, and a payment being
committed holds the sender off its invoice."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from postroom.services import invoices
from postroom.services.invoice_notices import SendResult, due_notices, send_notice
from postroom.services.runtime import Runtime
from tests.invoices.support import (
    API,
    communications,
    days,
    feed,
    get_invoice,
    invoice_body,
    make_client,
    register,
    send_on,
)
from tests.support import Tenant

INVOICES = 12


def _postgresql_only(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: two senders cannot interleave there")


def test_two_senders_at_once_send_each_notice_once(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _postgresql_only(runtime)
    client_id = make_client(api, tenant.admin)
    for number in range(INVOICES):
        body = invoice_body(client_id, days(runtime, 5), number=f"FV/{number}/2026")
        register(api, tenant.admin, **body)
    day = days(runtime, 2)
    # Both workers see the same due notices before either sends one, then race for each.
    picked = [due_notices(runtime, today=day), due_notices(runtime, today=day)]
    assert len(picked[0]) == len(picked[1]) == INVOICES
    start = threading.Barrier(2)
    results: list[Counter[SendResult]] = [Counter(), Counter()]
    errors: list[BaseException] = []

    def sender(index: int) -> None:
        try:
            start.wait(timeout=30)
            for due in picked[index]:
                results[index][send_notice(runtime, due, today=day)] += 1
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    total = results[0] + results[1]
    assert total[SendResult.SENT] == INVOICES
    assert total[SendResult.TAKEN] == INVOICES
    assert len(feed(runtime, tenant)) == INVOICES
    batches = Counter(row.batch_key for row in communications(runtime, tenant))
    assert len(batches) == INVOICES
    assert set(batches.values()) == {2}  # in-app and Web Push, once per notice


def test_a_payment_being_committed_holds_the_sender_off_and_wins(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """The payment locks the invoice first; the sender skips the locked invoice instead of
    sending from a state that is about to change, and finds it paid at its next round."""
    _postgresql_only(runtime)
    client_id = make_client(api, tenant.admin)
    invoice = register(api, tenant.admin, **invoice_body(client_id, days(runtime, 5)))
    day = days(runtime, 2)
    seen: list[dict[SendResult, int]] = []
    with runtime.tenant(tenant.company_id) as session:
        invoices.mark_paid(session, invoice_id=invoice["id"])
        # The payment is not committed yet: a worker runs now, in its own connection.
        worker = threading.Thread(target=lambda: seen.append(send_on(runtime, day)))
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive()
    assert seen == [{SendResult.TAKEN: 1}]
    assert send_on(runtime, day) == {}
    assert feed(runtime, tenant) == []
    statuses = {n["status"] for n in get_invoice(api, tenant.admin, invoice["id"])["notices"]}
    assert statuses == {"cancelled"}
    assert (
        api.get(f"{API}/invoices/{invoice['id']}", headers=tenant.admin.headers).json()["status"]
        == "paid"
    )
