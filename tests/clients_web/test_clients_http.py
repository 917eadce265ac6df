"""The client list and the client page over HTTP: default channels, switches refused while
the office's SMS is off, the bulk switch, the profile, contacts with Web Push links, reminder
overrides, sending a message with its outcome and history, the SMS estimate."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from postroom.db.models_channels import ClientCommunication, PushSubscription
from postroom.enums import Channel, CommunicationStatus, ReminderKind, TaxPeriod
from postroom.services import reminder_settings
from postroom.services.runtime import Runtime
from tests.clients_web.support import client_row, make_client, make_contact, switches_in
from tests.sms.support import enable_sms
from tests.support import Tenant
from tests.web.conftest import web_login

DEFAULT = {"email": False, "sms": False, "inapp": True, "webpush": True}


def test_a_client_added_in_the_list_has_only_in_app_and_web_push_on(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    csrf = web_login(client, tenant.admin)
    empty = client.get("/clients").text
    assert "Nie ma jeszcze klientów" in empty and 'id="sms-off-note"' in empty
    nameless = client.post("/clients", data={"csrf_token": csrf, "name": " "})
    assert nameless.status_code == 422 and "Podaj nazwę klienta." in nameless.text
    bad = client.post(
        "/clients", data={"csrf_token": csrf, "name": "Gamma", "domain": "nie domena"}
    )
    assert bad.status_code == 422 and "To nie jest nazwa domeny" in bad.text
    added = client.post(
        "/clients",
        data={"csrf_token": csrf, "name": "Gamma Sp. z o.o.", "domain": "gamma.pl", "tax_id": ""},
        follow_redirects=False,
    )
    assert added.status_code == 303
    client_id = int(added.headers["location"].rsplit("/", 1)[1])
    listed = client.get("/clients").text
    assert f'data-client-id="{client_id}"' in listed and "Gamma Sp. z o.o." in listed
    assert switches_in(listed) == DEFAULT
    twice = client.post("/clients", data={"csrf_token": csrf, "name": "G2", "domain": "gamma.pl"})
    assert twice.status_code == 409 and "Klient z tą domeną już istnieje." in twice.text


def test_switches_toggle_in_place_and_sms_waits_for_the_office(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant, "Delta")
    csrf = web_login(client, tenant.admin)
    turned = client.post(
        f"/clients/{client_id}/channels/email",
        data={"csrf_token": csrf, "enabled": "1"},
        headers={"HX-Request": "true"},
    )
    assert turned.status_code == 200
    assert switches_in(turned.text) == DEFAULT | {"email": True}
    assert client_row(runtime, tenant, client_id).channel_email

    sms = client.post(
        f"/clients/{client_id}/channels/sms", data={"csrf_token": csrf, "enabled": "1"}
    )
    assert sms.status_code == 409
    assert "SMS nie są włączone dla biura" in sms.text
    assert switches_in(sms.text)["sms"] is False
    assert not client_row(runtime, tenant, client_id).channel_sms

    enable_sms(runtime, tenant)
    allowed = client.post(
        f"/clients/{client_id}/channels/sms", data={"csrf_token": csrf, "enabled": "1"}
    )
    assert allowed.status_code == 200 and switches_in(allowed.text)["sms"] is True
    off = client.post(
        f"/clients/{client_id}/channels/webpush", data={"csrf_token": csrf, "enabled": "0"}
    )
    assert switches_in(off.text)["webpush"] is False
    unknown = client.post(
        f"/clients/{client_id}/channels/fax", data={"csrf_token": csrf, "enabled": "1"}
    )
    assert unknown.status_code == 404


def test_the_bulk_switch_changes_all_selected_clients_or_none(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    first = make_client(runtime, tenant, "Epsilon")
    second = make_client(runtime, tenant, "Zeta")
    third = make_client(runtime, tenant, "Eta")
    csrf = web_login(client, tenant.admin)
    done = client.post(
        "/clients/channels",
        data={
            "csrf_token": csrf,
            "ids": [str(first), str(second)],
            "channel": "email",
            "enabled": "1",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Przełączono kanał zaznaczonym klientom." in client.get(done.headers["location"]).text
    assert client_row(runtime, tenant, first).channel_email
    assert client_row(runtime, tenant, second).channel_email
    assert not client_row(runtime, tenant, third).channel_email

    sms = client.post(
        "/clients/channels",
        data={
            "csrf_token": csrf,
            "ids": [str(first), str(third)],
            "channel": "sms",
            "enabled": "1",
        },
    )
    assert sms.status_code == 409 and "SMS nie są włączone dla biura" in sms.text
    assert not client_row(runtime, tenant, first).channel_sms
    nothing = client.post("/clients/channels", data={"csrf_token": csrf, "channel": "email"})
    assert nothing.status_code == 422 and "Najpierw zaznacz" in nothing.text


def test_search_and_paging(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    for number in range(27):
        make_client(runtime, tenant, f"Klient {number:02d}")
    make_client(runtime, tenant, "Omega Handel", domain="omega.pl")
    web_login(client, tenant.admin)
    first = client.get("/clients").text
    assert "Klient 00" in first and "Klient 26" not in first and "/clients?page=2" in first
    second = client.get("/clients?page=2").text
    assert "Klient 26" in second and "Klient 00" not in second
    found = client.get("/clients", params={"q": "omega"}).text
    assert "Omega Handel" in found and "Klient 00" not in found
    assert "Żaden klient nie pasuje" in client.get("/clients", params={"q": "brak"}).text


def test_the_profile_is_saved_and_checked(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant, "Theta")
    csrf = web_login(client, tenant.admin)
    page = client.get(f"/clients/{client_id}").text
    assert 'name="vat_period"' in page and 'name="zus_day"' in page
    form = {
        "csrf_token": csrf,
        "name": "Theta S.A.",
        "domain": "theta.pl",
        "tax_id": "5260001246",
        "vat_period": "quarterly",
        "income_tax_period": "none",
        "zus_day": "15",
        "documents_day": "",
    }
    saved = client.post(f"/clients/{client_id}", data=form, follow_redirects=False)
    assert saved.status_code == 303
    row = client_row(runtime, tenant, client_id)
    assert (row.name, row.vat_period, row.income_tax_period) == (
        "Theta S.A.",
        TaxPeriod.QUARTERLY,
        TaxPeriod.NONE,
    )
    assert (row.zus_day, row.documents_day, row.tax_id) == (15, None, "5260001246")
    bad_day = client.post(f"/clients/{client_id}", data=form | {"zus_day": "17"})
    assert bad_day.status_code == 422 and "do 15. albo do 20. dnia miesiąca" in bad_day.text
    bad_documents = client.post(f"/clients/{client_id}", data=form | {"documents_day": "31"})
    assert bad_documents.status_code == 422 and "od 1 do 28" in bad_documents.text
    bad_period = client.post(f"/clients/{client_id}", data=form | {"vat_period": "yearly"})
    assert bad_period.status_code == 422 and "jak często klient rozlicza" in bad_period.text
    assert client_row(runtime, tenant, client_id).zus_day == 15


def test_contacts_with_phone_and_their_web_push_link(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant, "Iota")
    csrf = web_login(client, tenant.admin)
    bad_phone = client.post(
        f"/clients/{client_id}/contacts",
        data={"csrf_token": csrf, "email": "anna@iota.pl", "name": "Anna", "phone": "tel: 600"},
    )
    assert bad_phone.status_code == 422 and "Numer telefonu" in bad_phone.text
    assert 'value="anna@iota.pl"' in bad_phone.text  # the input is kept
    added = client.post(
        f"/clients/{client_id}/contacts",
        data={
            "csrf_token": csrf,
            "email": "anna@iota.pl",
            "name": "Anna",
            "phone": "+48 600 100 200",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = client.get(f"/clients/{client_id}").text
    assert "anna@iota.pl" in page and "+48 600 100 200" in page
    assert "Brak zapisanej przeglądarki" in page and "Utwórz link Web Push" in page
    contact_id = int(page.split('data-contact-id="')[1].split('"')[0])
    made = client.post(
        f"/clients/{client_id}/contacts/{contact_id}/push-link",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert made.status_code == 303
    shown = client.get(f"/clients/{client_id}").text
    assert f'id="push-url-{contact_id}"' in shown and "/push/" in shown
    assert 'data-copy-target="push-url-' in shown
    with runtime.tenant(tenant.company_id) as session:
        session.add(
            PushSubscription(
                client_id=client_id,
                contact_id=contact_id,
                endpoint="https://push.example.test/send/iota-1",
                p256dh="B" + "A" * 86,
                auth="A" * 22,
            )
        )
    assert "Przeglądarka zapisana (1)" in client.get(f"/clients/{client_id}").text


def test_reminder_overrides_inherit_or_set_per_kind(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant, "Kappa")
    csrf = web_login(client, tenant.admin)
    form = {"csrf_token": csrf, "vat_days_before": "7", "zus_enabled": "off"}
    form |= {"documents_day_of_month": "2"}
    saved = client.post(f"/clients/{client_id}/reminders", data=form, follow_redirects=False)
    assert saved.status_code == 303
    with runtime.tenant(tenant.company_id) as session:
        overrides = reminder_settings.client_overrides(session, client_id)
    assert overrides[ReminderKind.VAT] == reminder_settings.ReminderOverride(None, 7, None)
    assert overrides[ReminderKind.ZUS] == reminder_settings.ReminderOverride(False, None, None)
    assert overrides[ReminderKind.DOCUMENTS].day_of_month == 2
    assert overrides[ReminderKind.INCOME_TAX] == reminder_settings.ReminderOverride()
    page = client.get(f"/clients/{client_id}").text
    assert "7 dni przed" in page
    bad = client.post(f"/clients/{client_id}/reminders", data=form | {"vat_days_before": "45"})
    assert bad.status_code == 422 and 'id="reminders-error"' in bad.text


def test_a_message_goes_out_and_its_outcome_and_history_show(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant, "Lambda")
    make_contact(runtime, tenant, client_id, "jan@lambda.pl")
    csrf = web_login(client, tenant.admin)
    assert "Do tego klienta nic jeszcze nie wysłano." in client.get(f"/clients/{client_id}").text
    empty = client.post(f"/clients/{client_id}/notify", data={"csrf_token": csrf, "subject": ""})
    assert empty.status_code == 422 and "Wpisz temat i treść." in empty.text
    sent = client.post(
        f"/clients/{client_id}/notify",
        data={"csrf_token": csrf, "subject": "Termin VAT", "text": "Prosimy o wpłatę do 25.11."},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    page = client.get(sent.headers["location"]).text
    with runtime.tenant(tenant.company_id) as session:
        rows = list(session.scalars(select(ClientCommunication).order_by(ClientCommunication.id)))
        recorded = [(r.channel, r.status.value) for r in rows]
    assert [channel for channel, _status in recorded] == [Channel.INAPP, Channel.WEBPUSH]
    outcome = page.split('id="outcome"')[1].split("</ul>")[0]
    for channel, status in recorded:
        assert f'data-channel="{channel.value}" data-status="{status}"' in outcome
    history = client.get(f"/clients/{client_id}/history").text
    assert history.count("data-communication-id=") == 2 and "Termin VAT" in history


def test_a_client_with_every_channel_off_is_told_so(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant, "Mi", channel_inapp=False, channel_webpush=False)
    csrf = web_login(client, tenant.admin)
    refused = client.post(
        f"/clients/{client_id}/notify",
        data={"csrf_token": csrf, "subject": "Temat", "text": "Treść"},
    )
    assert (
        refused.status_code == 409 and "Wszystkie kanały tego klienta są wyłączone" in refused.text
    )
    assert 'value="Temat"' in refused.text


def test_the_sms_estimate_counts_gsm7_and_ucs2_parts(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant, "Ni")
    csrf = web_login(client, tenant.admin)
    plain = client.post(
        f"/clients/{client_id}/sms-estimate", data={"csrf_token": csrf, "sms_text": "a" * 161}
    ).text
    assert 'data-encoding="gsm7"' in plain and 'data-segments="2"' in plain
    polish = client.post(
        f"/clients/{client_id}/sms-estimate",
        data={"csrf_token": csrf, "sms_text": "Zażółć gęślą jaźń"},
    ).text
    assert 'data-encoding="ucs2"' in polish and 'data-segments="1"' in polish
    assert 'id="sms-plain"' in polish  # the same without Polish letters
    too_long = client.post(
        f"/clients/{client_id}/sms-estimate", data={"csrf_token": csrf, "sms_text": "a" * 1601}
    ).text
    assert "SMS może mieć najwyżej 1600 znaków" in too_long


def test_the_history_refreshes_itself_while_a_message_is_queued(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_id = make_client(runtime, tenant, "Xi")
    with runtime.tenant(tenant.company_id) as session:
        row = ClientCommunication(
            client_id=client_id,
            channel=Channel.SMS,
            status=CommunicationStatus.QUEUED,
            source="notify",
            batch_key="b" * 32,
            subject="Przypomnienie",
            recipients=["+48600100200"],
        )
        session.add(row)
        session.flush()
        row_id = row.id
    web_login(client, tenant.admin)
    live = client.get(f"/clients/{client_id}/history").text
    assert 'hx-trigger="every 3s"' in live and 'data-status="queued"' in live
    assert "+48600100200" in live
    with runtime.tenant(tenant.company_id) as session:
        stored = session.get(ClientCommunication, row_id)
        assert stored is not None
        stored.status = CommunicationStatus.FAILED
        stored.detail = "Numer nie istnieje"
    done = client.get(f"/clients/{client_id}/history").text
    assert "hx-trigger" not in done and 'data-status="failed"' in done
    assert "Numer nie istnieje" in done and "Nieudana" in done
