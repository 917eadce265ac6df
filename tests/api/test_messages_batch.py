"""POST /messages/batch: many messages in one transaction, all or none, errors per item."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from postroom.enums import MessageStatus
from postroom.services import messages as messages_service
from postroom.services.runtime import Runtime
from tests.api.sending_helpers import add_account, outbox_row, received, turn_email_on, upload
from tests.support import Member, Tenant

ACCOUNT = "biuro@alfa.example.test"


@pytest.fixture
def account_id(client: TestClient, runtime: Runtime, tenant: Tenant) -> int:
    turn_email_on(client, tenant.admin)
    return add_account(runtime, tenant, ACCOUNT, display_name="Biuro Rachunkowe Alfa")


def _batch(client: TestClient, member: Member, items: list[dict[str, Any]], **kw: Any) -> Any:
    return client.post(
        "/api/v1/messages/batch", headers={**member.headers, **kw}, json={"items": items}
    )


def _total(client: TestClient, member: Member) -> int:
    listed = client.get("/api/v1/messages", headers=member.headers).json()
    return int(listed["total"])


def test_every_item_is_queued_in_order_with_its_own_mime(
    client: TestClient, runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    stored = upload(client, tenant.admin)
    items = [
        {
            "to": [f"klient{i}@example.test"],
            "subject": f"Faktura {i}/2026",
            "text": f"Dzień dobry, faktura numer {i}.",
            "document_kind": "invoice",
            "attachments": [{"file_id": stored["id"]}] if i == 2 else [],
        }
        for i in range(3)
    ]
    response = _batch(client, tenant.admin, items)
    assert response.status_code == 202, response.text
    answers = response.json()["items"]
    assert len(answers) == 3 and len({a["id"] for a in answers}) == 3
    for i, answer in enumerate(answers):
        assert answer["status"] == "queued" and set(answer) == {"id", "status", "message_id"}
        row = outbox_row(runtime, tenant, answer["id"])  # committed: read in a new session
        assert row.status is MessageStatus.QUEUED and row.account_id == account_id
        assert row.subject == f"Faktura {i}/2026" and row.message_id == answer["message_id"]
        assert [r.address for r in row.recipients] == [f"klient{i}@example.test"]
        message = received(row.body.mime)
        assert message["Subject"] == f"Faktura {i}/2026"
        assert len(list(message.iter_attachments())) == (1 if i == 2 else 0)


def test_one_bad_item_queues_nothing_and_every_problem_names_its_item(
    client: TestClient, tenant: Tenant, account_id: int
) -> None:
    items: list[dict[str, Any]] = [
        {"to": ["dobry@example.test"], "subject": "Faktura 1"},
        {"to": ["zly adres"], "subject": "Faktura 2"},
        {"to": ["dobry@example.test"], "subject": "Faktura\r\nBcc: ofiara@example.test"},
        {"to": [], "subject": "Faktura 4"},
    ]
    response = _batch(client, tenant.admin, items)
    assert response.status_code == 422, response.text
    body = response.json()
    fields = [e["field"] for e in body["errors"]]
    assert "items[1].to[0]" in fields and "items[2].subject" in fields
    assert any(f.startswith("items[3]") for f in fields)
    assert not any(f.startswith("items[0]") for f in fields)
    assert _total(client, tenant.admin) == 0  # all or nothing


def test_a_malformed_item_is_named_before_anything_is_built(
    client: TestClient, tenant: Tenant, account_id: int
) -> None:
    items: list[dict[str, Any]] = [{"to": ["a@example.test"]}, {"to": "a@example.test", "x": 1}]
    response = _batch(client, tenant.admin, items)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert "items[1].to" in fields and "items[1].x" in fields
    assert _total(client, tenant.admin) == 0


def test_size_bounds_of_a_batch(client: TestClient, tenant: Tenant, account_id: int) -> None:
    empty = _batch(client, tenant.admin, [])
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "items"
    too_many = _batch(client, tenant.admin, [{"to": ["a@example.test"]}] * 501)
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "items"
    header = _batch(client, tenant.admin, [{"to": ["a@example.test"]}], **{"Idempotency-Key": "k"})
    assert header.status_code == 422
    assert header.json()["errors"][0]["field"] == "Idempotency-Key"
    assert _total(client, tenant.admin) == 0


def test_idempotency_keys_are_honoured_per_item(
    client: TestClient, tenant: Tenant, account_id: int
) -> None:
    first = {"to": ["jan@example.test"], "subject": "Faktura 7", "idempotency_key": "fv-7"}
    single = client.post("/api/v1/messages", headers=tenant.admin.headers, json=first)
    assert single.status_code == 202
    items = [first, {"to": ["ola@example.test"], "subject": "Faktura 8", "idempotency_key": "fv-8"}]
    response = _batch(client, tenant.admin, items)
    assert response.status_code == 202, response.text
    answers = response.json()["items"]
    assert answers[0] == single.json()  # the message made with that key before
    again = _batch(client, tenant.admin, items)
    assert again.json()["items"] == answers
    assert _total(client, tenant.admin) == 2

    reused = _batch(client, tenant.admin, [{**items[1], "subject": "Inna faktura"}])
    assert reused.status_code == 422
    assert reused.json()["errors"][0]["field"] == "items[0].idempotency_key"


def test_a_key_repeated_inside_one_batch_makes_one_message(
    client: TestClient, tenant: Tenant, account_id: int
) -> None:
    item = {"to": ["jan@example.test"], "subject": "Faktura 9", "idempotency_key": "fv-9"}
    response = _batch(client, tenant.admin, [item, item])
    assert response.status_code == 202, response.text
    first, second = response.json()["items"]
    assert first == second
    assert _total(client, tenant.admin) == 1


def test_a_key_taken_after_the_batch_looked_keys_up_is_answered_with_its_message(
    client: TestClient, tenant: Tenant, account_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch looks every key up in one query; a key committed by another request between
    that query and the batch's insert makes the insert fail, and the batch is redone item by
    item, answering that key with the message the other request made."""
    first = {"to": ["jan@example.test"], "subject": "Faktura 10", "idempotency_key": "fv-10"}
    single = client.post("/api/v1/messages", headers=tenant.admin.headers, json=first)
    assert single.status_code == 202
    looked_up: list[list[str]] = []

    def stale_lookup(session: object, keys: list[str]) -> dict[str, object]:
        looked_up.append(list(keys))
        return {}  # as if the other request had not committed yet

    monkeypatch.setattr(messages_service, "messages_by_key", stale_lookup)
    other = {"to": ["ola@example.test"], "subject": "Faktura 11", "idempotency_key": "fv-11"}
    response = _batch(client, tenant.admin, [first, other])
    assert response.status_code == 202, response.text
    answers = response.json()["items"]
    assert looked_up == [["fv-10", "fv-11"]]
    assert answers[0] == single.json()
    assert _total(client, tenant.admin) == 2


def test_a_refused_item_stops_the_batch_and_says_which(
    client: TestClient, runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    inactive = add_account(runtime, tenant, "stare@alfa.example.test", active=False)
    items = [
        {"to": ["jan@example.test"], "subject": "Faktura 1"},
        {"to": ["jan@example.test"], "subject": "Faktura 2", "account_id": inactive},
    ]
    response = _batch(client, tenant.admin, items)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "account_inactive"
    assert response.json()["detail"].startswith("Message items[1]:")
    assert _total(client, tenant.admin) == 0


def test_another_companys_account_or_project_is_unknown_in_an_item(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant, account_id: int
) -> None:
    theirs = add_account(runtime, other_tenant, "obcy@beta.example.test")
    items = [
        {"to": ["jan@example.test"], "account_id": theirs},
        {"to": ["jan@example.test"], "project_id": 987654},
    ]
    response = _batch(client, tenant.admin, items)
    assert response.status_code == 422
    found = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert found == {
        ("items[0].account_id", "unknown_account"),
        ("items[1].project_id", "unknown_project"),
    }
    assert "obcy@beta" not in response.text


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if "$ref" in node else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def test_the_batch_is_in_the_openapi_schema(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/messages/batch"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["items"]["maxItems"] == 500
    assert {"to", "subject", "idempotency_key"} <= set(
        body["properties"]["items"]["items"]["properties"]
    )
    for ref in _refs(operation):  # every model it names is there
        assert ref.rsplit("/", 1)[1] in schema["components"]["schemas"], ref
