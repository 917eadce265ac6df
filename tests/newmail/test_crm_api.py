"""The contacts, clients and tasks API: company-wide records, clear errors, E1 for tasks."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from postroom.db.models import AccountGrant
from postroom.enums import AccessMode
from postroom.services.runtime import Runtime
from tests.newmail.support import arrive, message, set_account
from tests.support import Member, Tenant
from tests.worker.outbox_support import make_account


def _post(client: TestClient, member: Member, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1/{path}", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_clients_and_contacts_round_trip(client: TestClient, tenant: Tenant) -> None:
    user = tenant.add_user()  # any user keeps the company's records
    firm = _post(
        client,
        user,
        "clients",
        {"name": "  Kancelaria Nowak ", "domain": "Kancelaria-Nowak.PL", "tax_id": "5250001009"},
    )
    assert (firm["name"], firm["domain"], firm["tax_id"]) == (
        "Kancelaria Nowak",
        "kancelaria-nowak.pl",
        "5250001009",
    )
    person = _post(
        client,
        user,
        "contacts",
        {"email": "Ewa.Nowak@Kancelaria-Nowak.pl", "name": "Ewa Nowak", "client_id": firm["id"]},
    )
    assert person["email"] == "ewa.nowak@kancelaria-nowak.pl"
    assert person["client_id"] == firm["id"] and person["created_from_mail_id"] is None
    _post(client, user, "contacts", {"email": "piotr@gmail.com", "name": "Piotr Zieliński"})

    headers = user.headers
    by_client = client.get(f"/api/v1/contacts?client_id={firm['id']}", headers=headers).json()
    assert [c["email"] for c in by_client["items"]] == ["ewa.nowak@kancelaria-nowak.pl"]
    searched = client.get("/api/v1/contacts?q=ZIELI", headers=headers).json()
    assert [c["name"] for c in searched["items"]] == ["Piotr Zieliński"]
    assert client.get("/api/v1/contacts?q=%25", headers=headers).json()["total"] == 0
    assert client.get("/api/v1/clients?q=nowak.pl", headers=headers).json()["total"] == 1

    changed = client.patch(
        f"/api/v1/contacts/{person['id']}",
        headers=headers,
        json={"phone": "+48 601 234 567", "client_id": None},
    ).json()
    assert (changed["phone"], changed["client_id"], changed["name"]) == (
        "+48 601 234 567",
        None,
        "Ewa Nowak",
    )
    renamed = client.patch(
        f"/api/v1/clients/{firm['id']}", headers=headers, json={"name": "Nowak i Wspólnicy"}
    ).json()
    assert renamed["name"] == "Nowak i Wspólnicy" and renamed["domain"] == "kancelaria-nowak.pl"

    assert client.delete(f"/api/v1/clients/{firm['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/clients/{firm['id']}", headers=headers).status_code == 404
    assert client.delete(f"/api/v1/contacts/{person['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/contacts/{person['id']}", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("contacts", {"email": "not-an-address"}, "email"),
        ("contacts", {"email": "a@b.pl", "name": "Ewa\r\nBcc: x@y.pl"}, "name"),
        ("contacts", {"email": "a@b.pl", "phone": "call me"}, "phone"),
        ("contacts", {"email": "a@b.pl", "client_id": 999999}, "client_id"),
        ("contacts", {"email": "a@b.pl", "extra": 1}, "extra"),
        ("contacts", {"name": "Ewa"}, "email"),
        ("clients", {"name": ""}, "name"),
        ("clients", {"name": "X", "domain": "not a domain"}, "domain"),
        ("clients", {"name": "X", "domain": "localhost"}, "domain"),
        ("clients", {"name": "X", "tax_id": "1" * 51}, "tax_id"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, tenant: Tenant, path: str, body: dict[str, Any], field: str
) -> None:
    response = client.post(f"/api/v1/{path}", headers=tenant.admin.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert client.get(f"/api/v1/{path}", headers=tenant.admin.headers).json()["total"] == 0


def test_patch_refuses_null_for_required_fields(client: TestClient, tenant: Tenant) -> None:
    person = _post(client, tenant.admin, "contacts", {"email": "ewa@firma-c.pl"})
    response = client.patch(
        f"/api/v1/contacts/{person['id']}", headers=tenant.admin.headers, json={"email": None}
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "email"


def test_duplicates_are_409(client: TestClient, tenant: Tenant) -> None:
    _post(client, tenant.admin, "contacts", {"email": "ewa@firma-c.pl"})
    again = client.post(
        "/api/v1/contacts", headers=tenant.admin.headers, json={"email": "EWA@firma-c.pl"}
    )
    assert again.status_code == 409 and again.json()["code"] == "contact_exists"
    _post(client, tenant.admin, "clients", {"name": "C", "domain": "firma-c.pl"})
    twice = client.post(
        "/api/v1/clients", headers=tenant.admin.headers, json={"name": "C2", "domain": "firma-c.pl"}
    )
    assert twice.status_code == 409 and twice.json()["code"] == "client_exists"
    other = _post(client, tenant.admin, "clients", {"name": "D", "domain": "firma-d.pl"})
    clash = client.patch(
        f"/api/v1/clients/{other['id']}",
        headers=tenant.admin.headers,
        json={"domain": "firma-c.pl"},
    )
    assert clash.status_code == 409


def _tasks_of_two_accounts(runtime: Runtime, tenant: Tenant) -> tuple[int, int]:
    """A task from a company account everyone uses, and one from an account only one other
    user (and administrators) may see."""
    open_account = make_account(runtime, tenant.company_id, email_address="biuro@alfa.example.test")
    closed = make_account(
        runtime,
        tenant.company_id,
        email_address="zarzad@alfa.example.test",
        access_mode=AccessMode.LISTED,
    )
    other = tenant.add_user()
    with runtime.tenant(tenant.company_id) as session:
        session.add(AccountGrant(account_id=closed, user_id=other.id))
    for account in (open_account, closed):
        set_account(runtime, tenant.company_id, account, create_tasks=True)
    arrive(runtime, tenant.company_id, open_account, [message(subject="Faktura")])
    arrive(runtime, tenant.company_id, closed, [message(subject="Poufne: wynagrodzenia")])
    return open_account, closed


def test_tasks_are_listed_updated_and_hidden_where_the_mail_is_hidden(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    user = tenant.add_user()
    _tasks_of_two_accounts(runtime, tenant)
    everything = client.get("/api/v1/tasks", headers=tenant.admin.headers).json()
    assert [t["title"] for t in everything["items"]] == ["Poufne: wynagrodzenia", "Faktura"]
    hidden, visible = everything["items"]

    mine = client.get("/api/v1/tasks", headers=user.headers).json()
    assert [t["title"] for t in mine["items"]] == ["Faktura"] and mine["total"] == 1
    assert client.get(f"/api/v1/tasks/{hidden['id']}", headers=user.headers).status_code == 404
    assert (
        client.patch(
            f"/api/v1/tasks/{hidden['id']}", headers=user.headers, json={"status": "done"}
        ).status_code
        == 404
    )

    done = client.patch(
        f"/api/v1/tasks/{visible['id']}",
        headers=user.headers,
        json={"status": "done", "due_date": "2026-06-30", "assignee_user_id": user.id},
    ).json()
    assert done["status"] == "done" and done["completed_at"] is not None
    assert done["due_date"] == "2026-06-30" and done["assignee_user_id"] == user.id
    reopened = client.patch(
        f"/api/v1/tasks/{visible['id']}", headers=user.headers, json={"status": "open"}
    ).json()
    assert reopened["completed_at"] is None

    # Assigned to the user, the hidden task becomes theirs to see.
    assigned = client.patch(
        f"/api/v1/tasks/{hidden['id']}",
        headers=tenant.admin.headers,
        json={"assignee_user_id": user.id},
    )
    assert assigned.status_code == 200
    assert client.get(f"/api/v1/tasks/{hidden['id']}", headers=user.headers).status_code == 200

    open_only = client.get("/api/v1/tasks?status=open", headers=tenant.admin.headers).json()
    assert [t["id"] for t in open_only["items"]] == [hidden["id"], visible["id"]]
    by_assignee = client.get(
        f"/api/v1/tasks?assignee_user_id={user.id}", headers=tenant.admin.headers
    ).json()
    assert by_assignee["total"] == 2
    assert client.delete(f"/api/v1/tasks/{visible['id']}", headers=user.headers).status_code == 204
    assert client.get("/api/v1/tasks", headers=tenant.admin.headers).json()["total"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "maybe"}, "status"),
        ({"status": None}, "status"),
        ({"title": ""}, "title"),
        ({"assignee_user_id": 999999}, "assignee_user_id"),
        ({"due_date": "30.06.2026"}, "due_date"),
    ],
)
def test_task_changes_are_checked(
    client: TestClient, runtime: Runtime, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    _tasks_of_two_accounts(runtime, tenant)
    task = client.get("/api/v1/tasks", headers=tenant.admin.headers).json()["items"][0]
    response = client.patch(f"/api/v1/tasks/{task['id']}", headers=tenant.admin.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_a_task_cannot_be_assigned_to_another_companys_user(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    _tasks_of_two_accounts(runtime, tenant)
    task = client.get("/api/v1/tasks", headers=tenant.admin.headers).json()["items"][0]
    response = client.patch(
        f"/api/v1/tasks/{task['id']}",
        headers=tenant.admin.headers,
        json={"assignee_user_id": other_tenant.admin.id},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "assignee_user_id"


def test_a_contact_cannot_join_another_companys_client(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = _post(client, other_tenant.admin, "clients", {"name": "Beta", "domain": "beta.pl"})
    response = client.post(
        "/api/v1/contacts",
        headers=tenant.admin.headers,
        json={"email": "ewa@beta.pl", "client_id": theirs["id"]},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "client_id"
    assert "Beta" not in response.text
    listed = client.get(
        f"/api/v1/contacts?client_id={theirs['id']}", headers=tenant.admin.headers
    ).json()
    assert listed["total"] == 0
