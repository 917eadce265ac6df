"""Sending notices: each level on its day over the client's channels, escalation until the
ladder runs out, a payment cancelling what is still pending, and the same-transaction recheck."""

from __future__ import annotations

from fastapi.testclient import TestClient

from postroom.enums import Channel, CommunicationStatus
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
    ok,
    register,
    send_on,
    states,
)
from tests.support import Tenant


def test_escalation_through_the_levels_until_the_ladder_runs_out(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(api, tenant.admin)
    invoice = register(api, tenant.admin, **invoice_body(client_id, days(runtime, 5)))
    assert send_on(runtime, days(runtime, 1)) == {}  # nothing due yet
    assert send_on(runtime, days(runtime, 2)) == {SendResult.SENT: 1}
    assert send_on(runtime, days(runtime, 2)) == {}  # once
    first = feed(runtime, tenant)
    assert [n.title for n in first] == ["Przypomnienie o terminie płatności faktury FV/1/2026"]
    assert "na kwotę 1\xa0234,50\xa0zł" in first[0].body
    assert "Biuro Rachunkowe Alfa" in first[0].body

    assert send_on(runtime, days(runtime, 12)) == {SendResult.SENT: 1}
    assert send_on(runtime, days(runtime, 26)) == {SendResult.SENT: 1}
    titles = [n.title for n in feed(runtime, tenant)]
    assert titles[1:] == [
        "Wezwanie do zapłaty – faktura FV/1/2026",
        "Ostateczne wezwanie do zapłaty – faktura FV/1/2026",
    ]
    assert "dni po terminie: 7" in feed(runtime, tenant)[1].body
    assert "dni po terminie: 21" in feed(runtime, tenant)[2].body

    # The ladder has run out: the invoice stays unpaid, nothing more goes out.
    assert send_on(runtime, days(runtime, 90)) == {}
    assert len(feed(runtime, tenant)) == 3
    detail = get_invoice(api, tenant.admin, invoice["id"])
    assert [(level, status) for level, status, _ in states(detail)] == [
        (1, "sent"),
        (2, "sent"),
        (3, "sent"),
    ]
    assert detail["status"] == "unpaid"
    rows = communications(runtime, tenant)
    # In-app delivered to the contact; Web Push on but no browser subscribed: skipped.
    assert [(r.channel, r.status) for r in rows] == [
        (Channel.INAPP, CommunicationStatus.DELIVERED),
        (Channel.WEBPUSH, CommunicationStatus.SKIPPED),
    ] * 3
    assert {r.batch_key for r in rows} == {n["batch_key"] for n in detail["notices"]}


def test_a_payment_before_the_send_day_cancels_the_pending_notices(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(api, tenant.admin)
    invoice = register(api, tenant.admin, **invoice_body(client_id, days(runtime, 5)))
    assert send_on(runtime, days(runtime, 2)) == {SendResult.SENT: 1}
    url = f"{API}/invoices/{invoice['id']}/paid"
    paid = ok(api.post(url, headers=tenant.admin.headers))
    assert [(level, status) for level, status, _ in states(paid)] == [
        (1, "sent"),
        (2, "cancelled"),
        (3, "cancelled"),
    ]
    assert (
        paid["notices"][1]["detail"]
        == "Cancelled: the invoice was marked paid before the send day."
    )
    for offset in (12, 26, 60):
        assert send_on(runtime, days(runtime, offset)) == {}
    assert len(feed(runtime, tenant)) == 1
    assert len(communications(runtime, tenant)) == 2


def test_paid_after_the_notice_was_picked_but_before_it_is_sent_is_not_sent(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """The sender picks due notices in one transaction and sends each in another, where it
    looks at the invoice again: a payment committed in between stops the notice."""
    client_id = make_client(api, tenant.admin)
    invoice = register(api, tenant.admin, **invoice_body(client_id, days(runtime, 5)))
    day = days(runtime, 2)
    picked = due_notices(runtime, today=day)
    assert [d.invoice_id for d in picked] == [invoice["id"]]
    ok(api.post(f"{API}/invoices/{invoice['id']}/paid", headers=tenant.admin.headers))
    assert send_notice(runtime, picked[0], today=day) is SendResult.TAKEN
    assert feed(runtime, tenant) == []
    assert communications(runtime, tenant) == []
    assert {n["status"] for n in get_invoice(api, tenant.admin, invoice["id"])["notices"]} == {
        "cancelled"
    }


def test_an_invoice_paid_without_its_notices_cancelled_is_still_not_reminded(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """The sender trusts the invoice's status, not only the notice's: a notice left pending
    on a paid invoice is cancelled when its day comes, not sent."""
    from postroom.db.models_channels import Invoice
    from postroom.enums import InvoiceStatus

    client_id = make_client(api, tenant.admin)
    invoice = register(api, tenant.admin, **invoice_body(client_id, days(runtime, 5)))
    with runtime.tenant(tenant.company_id) as session:
        row = session.get(Invoice, invoice["id"])
        assert row is not None
        row.status = InvoiceStatus.PAID
    assert send_on(runtime, days(runtime, 2)) == {SendResult.CANCELLED: 1}
    assert feed(runtime, tenant) == []


def test_after_a_long_pause_only_the_latest_due_level_goes(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(api, tenant.admin)
    invoice = register(api, tenant.admin, **invoice_body(client_id, days(runtime, 5)))
    result = send_on(runtime, days(runtime, 30))  # the worker was down for a month
    assert result == {SendResult.SUPERSEDED: 2, SendResult.SENT: 1}
    assert [n.title for n in feed(runtime, tenant)] == [
        "Ostateczne wezwanie do zapłaty – faktura FV/1/2026"
    ]
    detail = get_invoice(api, tenant.admin, invoice["id"])
    assert [status for _, status, _ in states(detail)] == ["cancelled", "cancelled", "sent"]


def test_a_client_no_channel_reaches_gets_a_failed_notice_with_the_reason(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client = ok(
        api.post(f"{API}/clients", headers=tenant.admin.headers, json={"name": "Pusty"}), 201
    )
    invoice = register(api, tenant.admin, **invoice_body(client["id"], days(runtime, 5)))
    assert send_on(runtime, days(runtime, 2)) == {SendResult.FAILED: 1}
    notice = get_invoice(api, tenant.admin, invoice["id"])["notices"][0]
    assert notice["status"] == "failed"
    assert "no contact persons" in notice["detail"]
    # A failed level does not stop the ladder: the next one goes on its day.
    assert send_on(runtime, days(runtime, 12)) == {SendResult.FAILED: 1}


def test_one_round_sends_every_due_notice_batch_after_batch(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    from postroom.services.invoice_notices import send_due_notices

    client_id = make_client(api, tenant.admin)
    for number in range(5):
        register(
            api, tenant.admin, **invoice_body(client_id, days(runtime, 5), number=f"B/{number}")
        )
    result = send_due_notices(runtime, today=days(runtime, 2), limit=2)
    assert result == {SendResult.SENT: 5}
    assert len(feed(runtime, tenant)) == 5
