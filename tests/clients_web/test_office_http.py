"""Office settings over HTTP: the SMS cost gate with its record, the sender name, reminder
defaults, the dunning ladder, and the refusal every non-administrator gets."""

from __future__ import annotations

from fastapi.testclient import TestClient

from postroom.db.models import User
from postroom.enums import Language, ReminderKind, Role
from postroom.services import dunning, reminder_settings, sms_office
from postroom.services.runtime import Runtime
from tests.support import Tenant
from tests.web.conftest import web_login


def test_sms_turns_on_only_with_the_cost_accepted_and_the_record_shows(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    csrf = web_login(client, tenant.admin)
    page = client.get("/office")
    assert page.status_code == 200
    assert 'id="price-list-name">standard-2026<' in page.text
    assert "za część SMS" in page.text and "SMS wyłączone" in page.text
    assert "Akceptuję koszt SMS według cennika standard-2026" in page.text

    refused = client.post(
        "/office/sms",
        data={"csrf_token": csrf, "action": "enable", "price_list": "standard-2026"},
    )
    assert refused.status_code == 422
    assert "Włączenie SMS wymaga akceptacji kosztu" in refused.text
    with runtime.tenant(tenant.company_id) as session:
        assert not sms_office.sms_enabled(session)

    stale = client.post(
        "/office/sms",
        data={"csrf_token": csrf, "action": "enable", "accept": "on", "price_list": "stary"},
    )
    assert stale.status_code == 409 and "Cennik zmienił się" in stale.text

    accepted = client.post(
        "/office/sms",
        data={
            "csrf_token": csrf,
            "action": "enable",
            "accept": "on",
            "price_list": "standard-2026",
        },
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    shown = client.get("/office").text
    assert "SMS włączone" in shown and 'id="acceptance-record"' in shown
    assert f"Koszt zaakceptował(a) {tenant.admin.email}" in shown
    assert "cennik standard-2026" in shown and 'id="sms-disable"' in shown

    client.post("/office/sms", data={"csrf_token": csrf, "action": "disable"})
    off = client.get("/office").text
    assert "SMS wyłączone" in off and f"Wyłączył(a) {tenant.admin.email}" in off
    with runtime.tenant(tenant.company_id) as session:
        state = sms_office.sms_state(session, settings=runtime.settings)
        assert not state.enabled and state.acceptance is not None
        assert state.acceptance.revoked_at is not None


def test_sender_name_is_checked_by_the_service(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    csrf = web_login(client, tenant.admin)
    bad = client.post("/office/sms/sender", data={"csrf_token": csrf, "sender_name": "Zła nazwa!"})
    assert bad.status_code == 422 and "Nazwa nadawcy ma od 1 do 11 znaków" in bad.text
    good = client.post(
        "/office/sms/sender",
        data={"csrf_token": csrf, "sender_name": "BiuroAlfa"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert 'value="BiuroAlfa"' in client.get("/office").text


def test_reminder_defaults_are_on_by_default_and_saved_from_drop_downs(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    csrf = web_login(client, tenant.admin)
    page = client.get("/office").text
    for kind in ReminderKind:
        assert f'name="{kind.value}_enabled" id="f-{kind.value}-enabled" checked' in page
    form = {"csrf_token": csrf}
    for kind in ReminderKind:
        form |= {f"{kind.value}_enabled": "on", f"{kind.value}_days_before": "3"}
        form[f"{kind.value}_day_of_month"] = ""
    form |= {"zus_days_before": "5", "zus_day_of_month": "10"}
    del form["documents_enabled"]
    saved = client.post("/office/reminders", data=form, follow_redirects=False)
    assert saved.status_code == 303
    with runtime.tenant(tenant.company_id) as session:
        defaults = reminder_settings.office_defaults(session)
    assert defaults[ReminderKind.ZUS] == reminder_settings.ReminderSetting(True, 5, 10)
    assert not defaults[ReminderKind.DOCUMENTS].enabled
    assert defaults[ReminderKind.VAT] == reminder_settings.ReminderSetting(True, 3, None)
    bad = client.post("/office/reminders", data=form | {"vat_day_of_month": "31"})
    assert bad.status_code == 422 and 'id="reminders-error"' in bad.text


def test_the_dunning_ladder_is_shown_and_replaced(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    csrf = web_login(client, tenant.admin)
    page = client.get("/office").text
    assert "Obowiązują wbudowane monity" in page and 'data-level="1"' in page
    levels = {
        "csrf_token": csrf,
        "level_count": "3",
        "level_0_offset_days": "-2",
        "level_0_name": "Przypomnienie",
        "level_0_subject": "Faktura {{ invoice_number }}",
        "level_0_body": "Termin płatności: {{ due_date }}.",
        "level_1_offset_days": "7",
        "level_1_name": "Wezwanie",
        "level_1_subject": "Wezwanie {{ invoice_number }}",
        "level_1_body": "Prosimy o zapłatę.",
        "level_2_offset_days": "",
        "level_2_name": "",
    }
    saved = client.post("/office/dunning", data=levels, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    with runtime.tenant(tenant.company_id) as session:
        ladder = dunning.get_ladder(session)
    assert not ladder.is_default
    assert [(lvl.offset_days, lvl.name) for lvl in ladder.levels] == [
        (-2, "Przypomnienie"),
        (7, "Wezwanie"),
    ]
    backwards = client.post("/office/dunning", data=levels | {"level_1_offset_days": "-5"})
    assert backwards.status_code == 422
    assert "Poziom 2 musi być wysłany później niż poziom 1" in backwards.text
    not_a_number = client.post("/office/dunning", data=levels | {"level_1_offset_days": "tydzień"})
    assert not_a_number.status_code == 422 and "liczba całkowita dni" in not_a_number.text
    unknown = client.post("/office/dunning", data=levels | {"level_0_body": "{{ kwota }} zł"})
    assert unknown.status_code == 422  # the template engine's words, after a Polish lead
    assert "Poziom 1: tego tekstu nie da się użyć:" in unknown.text and "kwota" in unknown.text
    with runtime.tenant(tenant.company_id) as session:
        admin = session.get(User, tenant.admin.id)
        assert admin is not None
        admin.language = Language.EN
    english = client.post("/office/dunning", data=levels | {"level_1_offset_days": "-5"})
    assert english.status_code == 422
    assert "Level 2 must be sent later than level 1: give it a greater offset." in english.text


def test_a_user_who_is_not_an_administrator_is_refused_everywhere(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    user = tenant.add_user(Role.USER)
    csrf = web_login(client, user)
    page = client.get("/office")
    assert page.status_code == 403
    assert "Ustawienia biura może zmieniać tylko administrator firmy" in page.text
    assert 'href="/office"' not in page.text  # not in the menu either
    for path, data in (
        ("/office/sms", {"action": "enable", "accept": "on", "price_list": "standard-2026"}),
        ("/office/sms", {"action": "disable"}),
        ("/office/sms/sender", {"sender_name": "Biuro"}),
        ("/office/reminders", {"vat_enabled": "on", "vat_days_before": "3"}),
        ("/office/dunning", {"level_count": "0"}),
    ):
        refused = client.post(path, data={"csrf_token": csrf, **data})
        assert refused.status_code == 403, path
    with runtime.tenant(tenant.company_id) as session:
        assert not sms_office.sms_enabled(session)


def test_a_form_without_the_csrf_token_is_refused(client: TestClient, tenant: Tenant) -> None:
    web_login(client, tenant.admin)
    refused = client.post("/office/sms", data={"action": "disable"})
    assert refused.status_code == 403
