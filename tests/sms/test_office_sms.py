"""The office's SMS switch (F2): the cost gate, the acceptance record, turning off, the sender
name, estimates, and tenancy of every SMS endpoint."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from postroom.config import Settings
from postroom.db.base import utcnow
from postroom.db.models_channels import OfficeSettings, SmsCostAcceptance, SmsMessage
from postroom.errors import ConflictError, ValidationError
from postroom.services import sms_office
from postroom.services.runtime import Runtime
from postroom.services.sms_queue import enqueue_sms
from tests.sms.support import SMSAPI_TOKEN, enable_sms, rows
from tests.support import Tenant

PRICE_LIST = "smsapi-pl-2026-01"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "sms_provider": "smsapi",
            "smsapi_token": SecretStr(SMSAPI_TOKEN),
            "sms_price_list": PRICE_LIST,
            "sms_price_per_segment": Decimal("0.17"),
            "sms_currency": "PLN",
        }
    )


def _put(client: TestClient, tenant: Tenant, body: dict[str, Any], *, user: Any = None) -> Any:
    member = user or tenant.admin
    return client.put("/api/v1/office/sms", headers=member.headers, json=body)


def _enqueue(runtime: Runtime, tenant: Tenant, number: str = "600 100 200") -> SmsMessage:
    with runtime.tenant(tenant.company_id) as session:
        sms = enqueue_sms(
            session,
            runtime=runtime,
            to_number=number,
            body="Przypomnienie: VAT do 25.11",
            client_id=None,
            contact_id=None,
            communication_id=None,
        )
        session.expunge(sms)
        return sms


def test_sms_is_off_until_the_price_list_is_accepted(client: TestClient, tenant: Tenant) -> None:
    state = client.get("/api/v1/office/sms", headers=tenant.admin.headers).json()
    assert state["enabled"] is False and state["acceptance"] is None
    assert state["provider"] == "smsapi"
    assert state["price_list"] == {
        "name": PRICE_LIST,
        "price_per_segment": "0.17",
        "currency": "PLN",
    }


def test_sending_is_refused_while_sms_is_off(runtime: Runtime, tenant: Tenant) -> None:
    with pytest.raises(ConflictError) as caught:
        _enqueue(runtime, tenant)
    assert caught.value.code == "sms_not_enabled"
    assert "accepting its price list" in caught.value.message
    assert rows(runtime, tenant.company_id, SmsMessage) == []


def test_turning_on_without_accepting_is_422_and_writes_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    response = _put(client, tenant, {"enabled": True})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["code"] == "price_list_not_accepted"
    assert PRICE_LIST in problem["detail"] and "0.17 PLN" in problem["detail"]
    assert rows(runtime, tenant.company_id, SmsCostAcceptance) == []
    assert rows(runtime, tenant.company_id, OfficeSettings) == []


def test_accepting_another_price_list_is_409_naming_the_current_one(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    response = _put(client, tenant, {"enabled": True, "accept_price_list": "old-2025"})
    assert response.status_code == 409
    assert response.json()["code"] == "price_list_mismatch"
    assert f'"{PRICE_LIST}"' in response.json()["detail"]
    assert rows(runtime, tenant.company_id, SmsCostAcceptance) == []


def test_acceptance_records_who_when_and_which_price_list(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    before = utcnow()
    response = _put(client, tenant, {"enabled": True, "accept_price_list": PRICE_LIST})
    assert response.status_code == 200, response.text
    state = response.json()
    assert state["enabled"] is True and state["acceptance_current"] is True
    acceptance = state["acceptance"]
    assert acceptance["accepted_by"]["email"] == tenant.admin.email
    assert acceptance["price_list"] == PRICE_LIST
    assert acceptance["price_per_segment"] == "0.1700" and acceptance["currency"] == "PLN"
    assert acceptance["revoked_at"] is None
    (row,) = rows(runtime, tenant.company_id, SmsCostAcceptance)
    assert row.accepted_by_user_id == tenant.admin.id
    assert before - timedelta(seconds=1) <= row.accepted_at <= utcnow()
    assert (row.price_list, row.price_per_segment, row.currency) == (
        PRICE_LIST,
        Decimal("0.17"),
        "PLN",
    )
    again = _put(client, tenant, {"enabled": True, "accept_price_list": PRICE_LIST})
    assert again.status_code == 200
    assert len(rows(runtime, tenant.company_id, SmsCostAcceptance)) == 1  # nothing new agreed


def test_turning_off_stamps_the_acceptance_and_stops_new_sms(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _put(client, tenant, {"enabled": True, "accept_price_list": PRICE_LIST})
    _enqueue(runtime, tenant)  # allowed while on
    response = _put(client, tenant, {"enabled": False})
    assert response.status_code == 200
    state = response.json()
    assert state["enabled"] is False and state["acceptance_current"] is False
    assert state["acceptance"]["revoked_by"]["email"] == tenant.admin.email
    (row,) = rows(runtime, tenant.company_id, SmsCostAcceptance)
    assert row.revoked_at is not None and row.revoked_by_user_id == tenant.admin.id
    with pytest.raises(ConflictError):
        _enqueue(runtime, tenant)
    # Turning on again is a new consent, recorded beside the old one.
    _put(client, tenant, {"enabled": True, "accept_price_list": PRICE_LIST})
    assert len(rows(runtime, tenant.company_id, SmsCostAcceptance)) == 2


def test_a_new_price_list_must_be_accepted_again(
    runtime: Runtime, client: TestClient, tenant: Tenant
) -> None:
    enable_sms(runtime, tenant)
    newer = runtime.settings.model_copy(update={"sms_price_list": "smsapi-pl-2026-07"})
    with runtime.tenant(tenant.company_id) as session:
        state = sms_office.sms_state(session, settings=newer)
        assert state.enabled is True and state.acceptance_current is False
        with pytest.raises(ConflictError):
            sms_office.enable_sms(
                session, actor=_admin(session, tenant), settings=newer, accept_price_list=PRICE_LIST
            )
        state = sms_office.enable_sms(
            session,
            actor=_admin(session, tenant),
            settings=newer,
            accept_price_list="smsapi-pl-2026-07",
        )
        assert state.acceptance_current is True
    old, new = rows(runtime, tenant.company_id, SmsCostAcceptance)
    assert old.revoked_at is not None and new.revoked_at is None
    assert new.price_list == "smsapi-pl-2026-07"


def _admin(session: Any, tenant: Tenant) -> Any:
    from postroom.db.models import User

    return session.get(User, tenant.admin.id)


def test_only_administrators_change_sms(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    user = tenant.add_user()
    for body in ({"enabled": True, "accept_price_list": PRICE_LIST}, {"sender_name": "BiuroAlfa"}):
        response = _put(client, tenant, body, user=user)
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert client.get("/api/v1/office/sms", headers=user.headers).status_code == 200
    assert rows(runtime, tenant.company_id, SmsCostAcceptance) == []


def test_without_a_provider_sms_cannot_be_turned_on(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    unconfigured = settings.model_copy(update={"sms_provider": "none"})
    with runtime.tenant(tenant.company_id) as session, pytest.raises(ConflictError) as caught:
        sms_office.enable_sms(
            session,
            actor=_admin(session, tenant),
            settings=unconfigured,
            accept_price_list=PRICE_LIST,
        )
    assert caught.value.code == "sms_not_configured"


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("BiuroAlfa", 200),
        ("Biuro 2", 200),
        ("123456", 422),
        ("Biuro_Alfa", 422),
        ("Zażółć", 422),
        ("BiuroAlfaBeta", 422),
    ],
)
def test_sender_name_rules(client: TestClient, tenant: Tenant, name: str, status: int) -> None:
    response = _put(client, tenant, {"sender_name": name})
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["sender_name"] == name
    else:
        assert response.json()["errors"][0]["field"] == "sender_name"


def test_sender_name_goes_onto_queued_sms(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    enable_sms(runtime, tenant, sender_name="BiuroAlfa")
    sms = _enqueue(runtime, tenant)
    assert sms.sender_name == "BiuroAlfa" and sms.to_number == "+48600100200"
    assert (sms.encoding, sms.segments, sms.provider) == ("gsm7", 1, "smsapi")
    assert sms.cost_estimate == Decimal("0.17") and sms.currency == "PLN"
    cleared = _put(client, tenant, {"sender_name": None})
    assert cleared.json()["sender_name"] is None


@pytest.mark.parametrize(
    ("number", "body", "field", "code"),
    [
        ("600 100", "Hello", "to_number", "invalid_phone_number"),
        ("+48 600 100 200", "   ", "body", "sms_empty"),
        ("+48 600 100 200", "ą" * 671, "body", "sms_too_long"),
    ],
)
def test_bad_sms_is_refused_naming_the_field(
    runtime: Runtime, tenant: Tenant, number: str, body: str, field: str, code: str
) -> None:
    enable_sms(runtime, tenant)
    with runtime.tenant(tenant.company_id) as session, pytest.raises(ValidationError) as caught:
        enqueue_sms(
            session,
            runtime=runtime,
            to_number=number,
            body=body,
            client_id=None,
            contact_id=None,
            communication_id=None,
        )
    assert (caught.value.problems[0].field, caught.value.problems[0].code) == (field, code)


def test_estimate_shows_both_costs(client: TestClient, tenant: Tenant) -> None:
    text = "Przypominamy o płatności VAT za październik: termin mija 25 listopada. " * 2
    response = client.post(
        "/api/v1/sms/estimate", headers=tenant.admin.headers, json={"text": text}
    )
    assert response.status_code == 200, response.text
    estimate = response.json()
    assert (estimate["encoding"], estimate["segments"], estimate["units_per_segment"]) == (
        "ucs2",
        3,
        67,
    )
    assert estimate["cost"] == "0.5100" and estimate["currency"] == "PLN"
    plain = estimate["transliterated"]
    assert plain["text"].startswith("Przypominamy o platnosci VAT za pazdziernik")
    assert (plain["encoding"], plain["segments"], plain["cost"]) == ("gsm7", 1, "0.1700")


def test_estimate_of_plain_text_has_no_alternative(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/api/v1/sms/estimate", headers=tenant.admin.headers, json={"text": "Koszt: 10 € [netto]"}
    )
    estimate = response.json()
    assert (estimate["encoding"], estimate["units"], estimate["transliterated"]) == (
        "gsm7",
        22,
        None,
    )


def test_estimate_needs_a_token_and_a_sane_length(client: TestClient, tenant: Tenant) -> None:
    assert client.post("/api/v1/sms/estimate", json={"text": "x"}).status_code == 401
    long = client.post(
        "/api/v1/sms/estimate", headers=tenant.admin.headers, json={"text": "a" * 1601}
    )
    assert long.status_code == 422 and long.json()["errors"][0]["code"] == "sms_too_long"


def test_each_office_sees_only_its_own_sms(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    _put(
        client,
        tenant,
        {"enabled": True, "accept_price_list": PRICE_LIST, "sender_name": "BiuroAlfa"},
    )
    sms = _enqueue(runtime, tenant)
    theirs = client.get("/api/v1/office/sms", headers=other_tenant.admin.headers).json()
    assert (
        theirs["enabled"] is False
        and theirs["acceptance"] is None
        and theirs["sender_name"] is None
    )
    with pytest.raises(ConflictError):
        _enqueue(runtime, other_tenant)  # one office's consent is not another's
    mine = client.get(f"/api/v1/sms/{sms.id}", headers=tenant.admin.headers)
    assert mine.status_code == 200 and mine.json()["status"] == "queued"
    assert mine.json()["to_number"] == "+48600100200"
    other = client.get(f"/api/v1/sms/{sms.id}", headers=other_tenant.admin.headers)
    assert other.status_code == 404 and other.json()["code"] == "not_found"
    for path in ("/api/v1/office/sms", f"/api/v1/sms/{sms.id}"):
        assert client.get(path).status_code == 401


def test_a_clients_sms_channel_opens_only_once_office_sms_is_on(
    client: TestClient, tenant: Tenant
) -> None:
    made = client.post("/api/v1/clients", headers=tenant.admin.headers, json={"name": "Piekarnia"})
    assert made.status_code == 201, made.text
    path = f"/api/v1/clients/{made.json()['id']}"
    refused = client.patch(path, headers=tenant.admin.headers, json={"channel_sms": True})
    assert refused.status_code == 409 and refused.json()["code"] == "sms_not_enabled"
    _put(client, tenant, {"enabled": True, "accept_price_list": PRICE_LIST})
    opened = client.patch(path, headers=tenant.admin.headers, json={"channel_sms": True})
    assert opened.status_code == 200 and opened.json()["channel_sms"] is True
