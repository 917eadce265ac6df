"""What will go out when: pending notices of unpaid invoices in a date range (merged into
GET /reminders/upcoming), and the worker's periodic job that sends them."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from postroom.services.invoice_notices import SendResult, UpcomingNotice, upcoming_notices
from postroom.services.runtime import Runtime
from postroom.worker.loop import DEFAULT_JOBS
from tests.invoices.support import (
    API,
    days,
    feed,
    invoice_body,
    make_client,
    ok,
    register,
    send_on,
)
from tests.support import Tenant


def test_upcoming_lists_pending_notices_of_unpaid_invoices_in_the_range(
    api: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    gamma = make_client(api, tenant.admin, "Klient Gamma")
    open_one = register(api, tenant.admin, **invoice_body(gamma, days(runtime, 5), number="O/1"))
    paid = register(api, tenant.admin, **invoice_body(gamma, days(runtime, 6), number="P/1"))
    ok(api.post(f"{API}/invoices/{paid['id']}/paid", headers=tenant.admin.headers))
    register(
        api,
        other_tenant.admin,
        **invoice_body(make_client(api, other_tenant.admin), days(runtime, 5)),
    )
    assert send_on(runtime, days(runtime, 2)) == {SendResult.SENT: 2}  # both companies' level 1

    with runtime.tenant(tenant.company_id) as session:
        found = upcoming_notices(session, start=days(runtime, 0), end=days(runtime, 20))
    assert found == [
        UpcomingNotice(
            date=days(runtime, 12),
            client_id=gamma,
            client_name="Klient Gamma",
            invoice_id=open_one["id"],
            invoice_number="O/1",
            level=2,
            level_name="Wezwanie do zapłaty",
            amount=Decimal("1234.50"),
            currency="PLN",
        )
    ]
    assert found[0].kind == "invoice_notice"
    with runtime.tenant(tenant.company_id) as session:
        later = upcoming_notices(session, start=days(runtime, 13), end=days(runtime, 40))
    assert [(n.level, n.date) for n in later] == [(3, days(runtime, 26))]

    listed = ok(
        api.get(
            f"{API}/reminders/upcoming",
            headers=tenant.admin.headers,
            params={"start": days(runtime, 0).isoformat(), "end": days(runtime, 30).isoformat()},
        )
    )
    notices = [i for i in listed["items"] if i["type"] == "invoice_notice"]
    assert [(i["invoice_number"], i["level"], i["on"]) for i in notices] == [
        ("O/1", 2, days(runtime, 12).isoformat()),
        ("O/1", 3, days(runtime, 26).isoformat()),
    ]


def test_the_worker_sends_todays_notices(api: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    job = next(job for job in DEFAULT_JOBS if job.name == "send invoice notices")
    client_id = make_client(api, tenant.admin)
    register(api, tenant.admin, **invoice_body(client_id, days(runtime, 3)))  # level 1: today
    assert job.run(runtime) == {SendResult.SENT: 1}
    assert job.run(runtime) == {}
    assert len(feed(runtime, tenant)) == 1
