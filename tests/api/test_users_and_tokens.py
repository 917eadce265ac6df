"""Users, tokens, groups, projects and company provisioning through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from postroom.config import Settings
from tests.api.helpers import create
from tests.support import USER_PASSWORD, Tenant

API = "/api/v1"
PLATFORM = {"Authorization": "Bearer platform-token-for-tests-0123456789abcdef"}


def test_platform_provisions_a_company_whose_admin_token_works(client: TestClient) -> None:
    response = client.post(
        f"{API}/companies",
        headers=PLATFORM,
        json={
            "name": "Nowe Biuro",
            "verified": True,
            "email_mode": "relay",
            "admin": {"email": "Szef@Nowe.example.test", "name": "Szef", "password": USER_PASSWORD},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["company"]["verified"] is True and body["company"]["email_mode"] == "relay"
    assert body["admin"]["role"] == "admin" and body["admin"]["email"] == "szef@nowe.example.test"
    headers = {"Authorization": f"Bearer {body['admin_token']}"}
    me = client.get(f"{API}/users/me", headers=headers).json()
    assert me["id"] == body["admin"]["id"]
    assert "password" not in str(me) and "hash" not in str(me)
    changed = client.patch(
        f"{API}/companies/{body['company']['id']}",
        headers=PLATFORM,
        json={"relay_document_limit": 120},
    ).json()
    assert changed["relay_document_limit"] == 120


def test_wrong_platform_token_is_refused(client: TestClient) -> None:
    response = client.post(
        f"{API}/companies",
        headers={"Authorization": "Bearer nope"},
        json={"name": "X", "admin": {"email": "x@x.example.test"}},
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_weak_platform_token_refused_at_start() -> None:
    try:
        Settings(platform_token="short")  # type: ignore[arg-type]
    except ValueError as exc:
        assert "at least 32 characters" in str(exc)
    else:
        raise AssertionError("a short platform token was accepted")


def test_admin_manages_users(client: TestClient, tenant: Tenant) -> None:
    headers = tenant.admin.headers
    user = create(
        client,
        tenant.admin,
        "users",
        {
            "email": "Ewa@Alfa.example.test",
            "name": "Ewa",
            "password": USER_PASSWORD,
            "can_see_others_accounts": True,
            "language": "en",
        },
    )
    assert user["email"] == "ewa@alfa.example.test" and user["can_see_others_accounts"] is True
    duplicate = client.post(
        f"{API}/users", headers=headers, json={"email": "ewa@alfa.example.test"}
    )
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "email_taken"
    invalid = client.post(f"{API}/users", headers=headers, json={"email": "ewa"})
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "email"
    short = client.post(
        f"{API}/users", headers=headers, json={"email": "k@alfa.example.test", "password": "short"}
    )
    assert short.status_code == 422 and short.json()["errors"][0]["code"] == "password_too_short"
    changed = client.patch(
        f"{API}/users/{user['id']}", headers=headers, json={"role": "admin", "can_purge_mail": True}
    ).json()
    assert (changed["role"], changed["can_purge_mail"]) == ("admin", True)
    assert client.delete(f"{API}/users/{user['id']}", headers=headers).status_code == 204
    assert client.get(f"{API}/users/{user['id']}", headers=headers).status_code == 404


def test_user_edits_only_own_name_language_password(client: TestClient, tenant: Tenant) -> None:
    user = tenant.add_user()
    other = tenant.add_user()
    url = f"{API}/users/{user.id}"
    assert (
        client.patch(url, headers=user.headers, json={"name": "Jan", "language": "en"}).json()[
            "language"
        ]
        == "en"
    )
    assert client.patch(url, headers=user.headers, json={"role": "admin"}).status_code == 403
    assert (
        client.patch(url, headers=user.headers, json={"can_see_others_accounts": True}).status_code
        == 403
    )
    assert (
        client.patch(
            f"{API}/users/{other.id}", headers=user.headers, json={"name": "X"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"{API}/users", headers=user.headers, json={"email": "n@alfa.example.test"}
        ).status_code
        == 403
    )


def test_last_admin_cannot_be_demoted_deactivated_or_deleted(
    client: TestClient, tenant: Tenant
) -> None:
    url, headers = f"{API}/users/{tenant.admin.id}", tenant.admin.headers
    for change in ({"role": "user"}, {"active": False}):
        response = client.patch(url, headers=headers, json=change)
        assert response.status_code == 409 and response.json()["code"] == "last_admin"
    assert client.delete(url, headers=headers).json()["code"] == "last_admin"
    second = tenant.add_user()
    client.patch(f"{API}/users/{second.id}", headers=headers, json={"role": "admin"})
    assert client.patch(url, headers=headers, json={"role": "user"}).status_code == 200


def test_tokens_are_shown_once_and_revocable(client: TestClient, tenant: Tenant) -> None:
    user = tenant.add_user()
    issued = create(client, user, "tokens", {"name": "ERP"})
    token_headers = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get(f"{API}/users/me", headers=token_headers).json()["id"] == user.id
    listed = client.get(f"{API}/tokens", headers=user.headers).json()
    assert issued["token"] not in str(listed)
    assert {t["name"] for t in listed} == {"tests", "ERP"}
    assert client.delete(f"{API}/tokens/{issued['id']}", headers=user.headers).status_code == 204
    revoked = client.get(f"{API}/users/me", headers=token_headers)
    assert revoked.status_code == 401 and revoked.json()["code"] == "unauthenticated"


def test_tokens_for_others_need_an_administrator(client: TestClient, tenant: Tenant) -> None:
    user = tenant.add_user()
    other = tenant.add_user()
    assert (
        client.post(f"{API}/tokens", headers=user.headers, json={"user_id": other.id}).status_code
        == 403
    )
    assert client.get(f"{API}/tokens?user_id={other.id}", headers=user.headers).status_code == 403
    made = create(client, tenant.admin, "tokens", {"user_id": other.id})
    assert made["user_id"] == other.id
    assert client.delete(f"{API}/tokens/{made['id']}", headers=user.headers).status_code == 403


def test_deactivated_users_token_stops_working(client: TestClient, tenant: Tenant) -> None:
    user = tenant.add_user()
    client.patch(f"{API}/users/{user.id}", headers=tenant.admin.headers, json={"active": False})
    assert client.get(f"{API}/users/me", headers=user.headers).status_code == 401


def test_groups(client: TestClient, tenant: Tenant) -> None:
    user = tenant.add_user()
    headers = tenant.admin.headers
    group = create(client, tenant.admin, "groups", {"name": "Kadry", "member_ids": [user.id]})
    assert group["member_ids"] == [user.id]
    clash = client.post(f"{API}/groups", headers=headers, json={"name": "Kadry"})
    assert clash.status_code == 409 and clash.json()["code"] == "name_taken"
    changed = client.patch(
        f"{API}/groups/{group['id']}",
        headers=headers,
        json={"name": "HR", "member_ids": [user.id, tenant.admin.id]},
    ).json()
    assert changed == {
        "id": group["id"],
        "name": "HR",
        "member_ids": sorted([user.id, tenant.admin.id]),
    }
    assert client.post(f"{API}/groups", headers=user.headers, json={"name": "X"}).status_code == 403
    assert client.get(f"{API}/groups", headers=user.headers).json()["total"] == 1
    assert client.delete(f"{API}/groups/{group['id']}", headers=headers).status_code == 204
    assert client.get(f"{API}/groups/{group['id']}", headers=headers).status_code == 404


def test_projects(client: TestClient, tenant: Tenant) -> None:
    headers = tenant.admin.headers
    project = create(client, tenant.admin, "projects", {"name": "Klient A"})
    assert (
        client.post(f"{API}/projects", headers=headers, json={"name": "Klient A"}).status_code
        == 409
    )
    assert client.post(f"{API}/projects", headers=headers, json={"name": ""}).status_code == 422
    renamed = client.patch(
        f"{API}/projects/{project['id']}", headers=headers, json={"name": "Klient B"}
    ).json()
    assert renamed["name"] == "Klient B"
    assert client.delete(f"{API}/projects/{project['id']}", headers=headers).status_code == 204
    assert client.get(f"{API}/projects", headers=headers).json()["total"] == 0


def test_unknown_route_and_method_are_problems(client: TestClient, tenant: Tenant) -> None:
    missing = client.get(f"{API}/nothing-here", headers=tenant.admin.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = client.put(f"{API}/accounts", headers=tenant.admin.headers)
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


def test_openapi_schema_documents_the_api(client: TestClient) -> None:
    schema = client.get(f"{API}/openapi.json").json()
    assert {
        "/accounts",
        "/accounts/{account_id}/history",
        "/users",
        "/groups",
        "/projects",
        "/tokens",
        "/companies",
    } <= set(schema["paths"])
    assert "smtp_password" not in schema["components"]["schemas"]["AccountPublic"]["properties"]
