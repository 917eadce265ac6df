"""The upcoming reminders calendar over HTTP, and every client page and action refusing
another company's ids (404) as if they did not exist."""

from __future__ import annotations

import calendar
from datetime import date

from fastapi.testclient import TestClient

from postroom.db.models import User
from postroom.services import clients, invoices
from postroom.services.invoice_checks import InvoiceInput
from postroom.services.invoice_notices import upcoming_notices
from postroom.services.runtime import Runtime
from tests.clients_web.support import make_client, make_contact, next_month, zus_on_the_tenth
from tests.support import Tenant
from tests.web.conftest import web_login


def test_the_month_grid_shows_a_reminder_on_its_day(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    zus_on_the_tenth(runtime, tenant)
    first = make_client(runtime, tenant, "Omikron", vat_period="none", income_tax_period="none")
    second = make_client(runtime, tenant, "Pi", zus_day=None)
    web_login(client, tenant.admin)
    month = next_month(runtime)
    key = month.strftime("%Y-%m")
    page = client.get("/reminders/calendar", params={"month": key})
    assert page.status_code == 200
    tenth = page.text.split(f'data-day="{key}-10"')[1].split("</td>")[0]
    assert f'data-client-id="{first}" data-kind="zus"' in tenth and "Składki ZUS" in tenth
    assert f'data-client-id="{second}" data-kind="zus"' not in tenth  # pays no ZUS
    assert 'id="previous-month"' in page.text and 'id="next-month"' in page.text

    listed = client.get("/reminders/calendar", params={"month": key, "view": "list"}).text
    assert 'id="calendar-grid"' not in listed
    assert f'data-list-day="{key}-10"' in listed and "Omikron" in listed

    only_pi = client.get("/reminders/calendar", params={"month": key, "client_id": str(second)})
    assert "Omikron" not in only_pi.text.split('id="calendar-grid"')[1]
    assert f'data-client-id="{second}"' in only_pi.text


def test_unpaid_invoice_notices_show_on_their_days(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant, "Rho Invest")
    month = next_month(runtime)
    today = date.today()
    with runtime.tenant(tenant.company_id) as session:
        admin = session.get(User, tenant.admin.id)
        assert admin is not None
        data = InvoiceInput("FV/77/2026", client_id, "1230.00", "PLN", month.replace(day=15))
        invoices.register_invoice(
            session, actor=admin, settings=runtime.settings, data=data, today=today
        )
        last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        planned = upcoming_notices(session, start=month, end=last)
    assert planned  # the built-in ladder has levels around the due date
    web_login(client, tenant.admin)
    page = client.get("/reminders/calendar", params={"month": month.strftime("%Y-%m")}).text
    for notice in planned:
        cell = page.split(f'data-day="{notice.date.isoformat()}"')[1].split("</td>")[0]
        assert 'data-type="invoice_notice"' in cell and "Faktura FV/77/2026" in cell
        assert "Rho Invest" in cell and "1230.00 PLN" in cell


def test_a_bad_month_shows_the_current_one(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    web_login(client, tenant.admin)
    page = client.get("/reminders/calendar", params={"month": "2026-13"})
    assert page.status_code == 200 and 'id="calendar-month"' in page.text


def test_another_companys_client_is_not_found_anywhere(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = make_client(runtime, other_tenant, "Cudzy klient")
    their_contact = make_contact(runtime, other_tenant, theirs, "obcy@cudzy.pl")
    mine = make_client(runtime, tenant, "Własny klient")
    csrf = web_login(client, tenant.admin)
    assert client.get(f"/clients/{theirs}").status_code == 404
    assert client.get(f"/clients/{theirs}/history").status_code == 404
    assert client.get("/reminders/calendar", params={"client_id": theirs}).status_code == 404
    for path, data in (
        (f"/clients/{theirs}", {"name": "Przejęty"}),
        (f"/clients/{theirs}/channels/email", {"enabled": "1"}),
        (f"/clients/{theirs}/contacts", {"email": "x@cudzy.pl"}),
        (f"/clients/{theirs}/contacts/{their_contact}/push-link", {}),
        (f"/clients/{mine}/contacts/{their_contact}/push-link", {}),
        (f"/clients/{theirs}/reminders", {"vat_enabled": "off"}),
        (f"/clients/{theirs}/notify", {"subject": "S", "text": "T"}),
        (f"/clients/{theirs}/sms-estimate", {"sms_text": "abc"}),
        (
            "/clients/channels",
            {"ids": [str(mine), str(theirs)], "channel": "email", "enabled": "1"},
        ),
    ):
        response = client.post(path, data={"csrf_token": csrf, **data})
        assert response.status_code == 404, path
    listed = client.get("/clients").text
    assert "Cudzy klient" not in listed and "Własny klient" in listed
    calendar = client.get("/reminders/calendar").text
    assert "Cudzy klient" not in calendar
    with runtime.tenant(other_tenant.company_id) as session:
        untouched = clients.get_client(session, theirs)
        assert untouched.name == "Cudzy klient" and not untouched.channel_email
    with runtime.tenant(tenant.company_id) as session:
        assert not clients.get_client(session, mine).channel_email  # bulk: all or nothing
