"""A client's channel switches and deadline profile through the API (F1–F3): the defaults of a
new client, changes, the SMS cost gate, the list's bulk switch, and tenancy."""

from __future__ import annotations

from fastapi.testclient import TestClient

from postroom.db.models_crm import Client
from postroom.services.runtime import Runtime
from tests.channels.support import (
    API,
    enable_office_sms,
    make_client,
    ok,
    patch_client,
    rows_of,
)
from tests.support import Tenant

CHANNELS = ("channel_email", "channel_sms", "channel_inapp", "channel_webpush")


def _channels(body: dict[str, object]) -> dict[str, object]:
    return {name: body[name] for name in CHANNELS}


def test_a_new_client_has_only_in_app_and_web_push_on(api: TestClient, tenant: Tenant) -> None:
    created = make_client(api, tenant.admin)
    expected = {
        "channel_email": False,
        "channel_sms": False,
        "channel_inapp": True,
        "channel_webpush": True,
    }
    assert _channels(created) == expected
    assert (created["vat_period"], created["income_tax_period"]) == ("monthly", "monthly")
    assert (created["zus_day"], created["documents_day"]) == (20, 5)
    listed = ok(api.get(f"{API}/clients", headers=tenant.admin.headers))["items"]
    assert _channels(listed[0]) == expected


def test_channels_and_profile_are_set_at_creation_and_changed_later(
    api: TestClient, tenant: Tenant
) -> None:
    created = make_client(
        api,
        tenant.admin,
        channel_email=True,
        channel_webpush=False,
        vat_period="quarterly",
        zus_day=15,
        documents_day=None,
    )
    assert (created["channel_email"], created["channel_webpush"]) == (True, False)
    assert (created["vat_period"], created["zus_day"], created["documents_day"]) == (
        "quarterly",
        15,
        None,
    )
    changed = ok(
        patch_client(
            api,
            tenant.admin,
            created["id"],
            channel_inapp=False,
            income_tax_period="none",
            zus_day=None,
            documents_day=28,
        )
    )
    assert changed["channel_inapp"] is False and changed["channel_email"] is True
    assert (changed["income_tax_period"], changed["zus_day"], changed["documents_day"]) == (
        "none",
        None,
        28,
    )
    again = ok(api.get(f"{API}/clients/{created['id']}", headers=tenant.admin.headers))
    assert again == changed


def test_impossible_deadline_days_are_refused_with_their_field(
    api: TestClient, tenant: Tenant
) -> None:
    created = make_client(api, tenant.admin)
    zus = patch_client(api, tenant.admin, created["id"], zus_day=17, channel_email=True)
    assert zus.status_code == 422
    assert zus.json()["errors"][0]["field"] == "zus_day"
    assert zus.json()["code"] == "validation_failed"
    assert "15th or the 20th" in zus.json()["detail"]
    documents = patch_client(api, tenant.admin, created["id"], documents_day=29)
    assert documents.status_code == 422
    assert documents.json()["errors"][0]["code"] == "invalid_documents_day"
    period = patch_client(api, tenant.admin, created["id"], vat_period="yearly")
    assert period.status_code == 422
    switch = patch_client(api, tenant.admin, created["id"], channel_inapp=None)
    assert switch.status_code == 422
    unchanged = ok(api.get(f"{API}/clients/{created['id']}", headers=tenant.admin.headers))
    assert unchanged == created  # the refused PATCH with channel_email changed nothing


def test_sms_for_a_client_needs_the_office_to_accept_the_cost_first(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    created = make_client(api, tenant.admin)
    refused = patch_client(api, tenant.admin, created["id"], channel_sms=True, channel_email=True)
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "sms_not_enabled"
    assert "administrator must turn SMS on in the office settings" in problem["detail"]
    assert "accept its cost" in problem["detail"]
    assert rows_of(runtime, tenant, Client)[0].channel_email is False  # nothing half-written
    on_create = api.post(
        f"{API}/clients", headers=tenant.admin.headers, json={"name": "Delta", "channel_sms": True}
    )
    assert on_create.status_code == 409 and on_create.json()["code"] == "sms_not_enabled"
    assert len(rows_of(runtime, tenant, Client)) == 1  # the refused client was not created

    enable_office_sms(api, tenant.admin)
    assert ok(patch_client(api, tenant.admin, created["id"], channel_sms=True))["channel_sms"]
    # Turning the office's SMS off later does not stop a client's switch from being turned off.
    ok(api.put(f"{API}/office/sms", headers=tenant.admin.headers, json={"enabled": False}))
    off = ok(patch_client(api, tenant.admin, created["id"], channel_sms=False))
    assert off["channel_sms"] is False
    assert patch_client(api, tenant.admin, created["id"], channel_sms=True).status_code == 409


def test_the_bulk_switch_changes_all_listed_clients_or_none(
    api: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ids = [make_client(api, tenant.admin, f"Klient {n}")["id"] for n in range(3)]
    foreign = make_client(api, other_tenant.admin, "Obcy")["id"]
    url = f"{API}/clients/channels"
    body = {"client_ids": ids[:2], "channel": "email", "enabled": True}
    changed = ok(api.patch(url, headers=tenant.admin.headers, json=body))
    assert [c["id"] for c in changed["items"]] == ids[:2]
    assert all(c["channel_email"] for c in changed["items"])

    with_foreign = {"client_ids": [ids[2], foreign], "channel": "webpush", "enabled": False}
    missing = api.patch(url, headers=tenant.admin.headers, json=with_foreign)
    assert missing.status_code == 404
    assert str(foreign) in missing.json()["detail"]
    third = ok(api.get(f"{API}/clients/{ids[2]}", headers=tenant.admin.headers))
    assert third["channel_webpush"] is True  # the known id was not changed either
    theirs = ok(api.get(f"{API}/clients/{foreign}", headers=other_tenant.admin.headers))
    assert theirs["channel_webpush"] is True

    sms = api.patch(
        url,
        headers=tenant.admin.headers,
        json={"client_ids": ids, "channel": "sms", "enabled": True},
    )
    assert sms.status_code == 409 and sms.json()["code"] == "sms_not_enabled"
    enable_office_sms(api, tenant.admin)
    body = {"client_ids": ids, "channel": "sms", "enabled": True}
    assert all(
        c["channel_sms"]
        for c in ok(api.patch(url, headers=tenant.admin.headers, json=body))["items"]
    )
    bad = api.patch(
        url,
        headers=tenant.admin.headers,
        json={"client_ids": [], "channel": "email", "enabled": True},
    )
    assert bad.status_code == 422
    fax = api.patch(
        url,
        headers=tenant.admin.headers,
        json={"client_ids": ids, "channel": "fax", "enabled": True},
    )
    assert fax.status_code == 422


def test_another_companys_client_cannot_be_switched(
    api: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    foreign = make_client(api, other_tenant.admin, "Obcy")["id"]
    response = patch_client(api, tenant.admin, foreign, channel_email=True)
    assert response.status_code == 404
    theirs = ok(api.get(f"{API}/clients/{foreign}", headers=other_tenant.admin.headers))
    assert theirs["channel_email"] is False
