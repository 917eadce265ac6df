"""E3: another company's token can never read, list, count, change or delete anything of ours."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from postroom.api import create_api_app
from postroom.services.runtime import Runtime
from tests.api.helpers import create, create_account
from tests.api.sending_helpers import sending_rows
from tests.campaigns import tenancy_rows as campaigns
from tests.fixtures.mailenv import MailEnv
from tests.mailbox.tenancy_rows import mailbox_paths, mailbox_requests, mailbox_rows
from tests.newmail.tenancy_rows import newmail_rows
from tests.reading.tenancy_rows import reading_requests
from tests.support import MAILBOX_PASSWORD, Member, Tenant
from tests.templates import tenancy_rows as templates


@dataclass(frozen=True)
class Resources:
    user: dict[str, Any]
    group: dict[str, Any]
    project: dict[str, Any]
    account: dict[str, Any]
    token_id: int
    sending: dict[str, int]  # file, message and draft ids (tests/api/sending_helpers.py)
    domain_id: int = 0  # a sender domain for the relay (issue 9)
    newmail: dict[str, int] | None = None  # contact, client, task, … (tests/newmail)
    mailbox: dict[str, int] | None = None  # folder, mail, migration (tests/mailbox)
    templates: dict[str, int] | None = None  # a template (tests/templates)
    campaigns: dict[str, int] | None = None  # a campaign (tests/campaigns)


@pytest.fixture
def ours(client: TestClient, tenant: Tenant, mailenv: MailEnv) -> Resources:
    admin = tenant.admin
    user = create(client, admin, "users", {"email": "anna@alfa.example.test", "name": "Anna"})
    group = create(client, admin, "groups", {"name": "Księgowość", "member_ids": [user["id"]]})
    project = create(client, admin, "projects", {"name": "Klient Gamma"})
    account = create_account(
        client,
        admin,
        mailenv,
        smtp_password=MAILBOX_PASSWORD,
        project_ids=[project["id"]],
        access_mode="listed",
        access_user_ids=[user["id"]],
        access_group_ids=[group["id"]],
    )
    token = create(client, admin, "tokens", {"user_id": user["id"], "name": "erp"})
    sending = sending_rows(client, admin, account["id"], project["id"])
    domain = create(client, admin, "company/domains", {"domain": "alfa.example.test"})
    newmail = newmail_rows(client, tenant, account["id"])
    mailbox = mailbox_rows(tenant, account["id"])
    tmpl = templates.template_rows(client, admin)
    camp = campaigns.campaign_rows(client, admin, project["id"])
    resources = Resources(
        user, group, project, account, token["id"], sending, domain["id"], newmail, mailbox, tmpl
    )
    return replace(resources, campaigns=camp)


def _requests(r: Resources) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every API route that names one of our rows, as the other company would call it."""
    uid, gid, pid, aid = r.user["id"], r.group["id"], r.project["id"], r.account["id"]
    mid, fid, did = r.sending["message"], r.sending["file"], r.sending["draft"]
    return [
        ("GET", f"/users/{uid}", None),
        ("PATCH", f"/users/{uid}", {"name": "Hacked"}),
        ("DELETE", f"/users/{uid}", None),
        ("GET", f"/tokens?user_id={uid}", None),
        ("POST", "/tokens", {"user_id": uid}),
        ("DELETE", f"/tokens/{r.token_id}", None),
        ("GET", f"/groups/{gid}", None),
        ("PATCH", f"/groups/{gid}", {"name": "Hacked"}),
        ("DELETE", f"/groups/{gid}", None),
        ("GET", f"/projects/{pid}", None),
        ("PATCH", f"/projects/{pid}", {"name": "Hacked"}),
        ("DELETE", f"/projects/{pid}", None),
        ("GET", f"/accounts/{aid}", None),
        ("PATCH", f"/accounts/{aid}", {"smtp_host": "evil.example.test"}),
        ("DELETE", f"/accounts/{aid}", None),
        ("GET", f"/accounts/{aid}/history", None),
        ("POST", f"/accounts/{aid}/test", None),
        ("GET", f"/accounts/{aid}/test", None),
        ("POST", f"/accounts/{aid}/fetch", None),  # receiving (tests/sync/test_api_sync.py)
        ("GET", f"/accounts/{aid}/sync", None),
        ("POST", f"/accounts/{aid}/oauth/start", {"provider": "google"}),
        ("PATCH", "/accounts", {"account_ids": [aid], "options": {"active": False}}),
        ("GET", f"/senders?project_id={pid}", None),  # their project: 404 (tests/api)
        ("GET", f"/messages/{mid}", None),
        ("GET", f"/messages/{mid}/raw", None),
        ("GET", f"/files/{fid}", None),
        ("GET", f"/files/{fid}/content", None),
        ("DELETE", f"/files/{fid}", None),
        ("GET", f"/drafts/{did}", None),
        ("PUT", f"/drafts/{did}", {"subject": "Hacked"}),
        ("DELETE", f"/drafts/{did}", None),
        ("POST", f"/drafts/{did}/send", None),
        ("GET", f"/company/domains/{r.domain_id}", None),
        ("POST", f"/company/domains/{r.domain_id}/verify", None),
        ("DELETE", f"/company/domains/{r.domain_id}", None),
        *_newmail_requests(r.newmail or {}),
        *(mailbox_requests(aid, r.mailbox) if r.mailbox else []),
        *(reading_requests(aid, r.mailbox) if r.mailbox else []),
        *(templates.template_requests(r.templates) if r.templates else []),
        *(campaigns.campaign_requests(r.campaigns) if r.campaigns else []),
    ]


def _newmail_requests(n: dict[str, int]) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", f"/contacts/{n['contact']}", None),
        ("PATCH", f"/contacts/{n['contact']}", {"name": "Hacked"}),
        ("DELETE", f"/contacts/{n['contact']}", None),
        ("GET", f"/clients/{n['client']}", None),
        ("PATCH", f"/clients/{n['client']}", {"name": "Hacked"}),
        ("DELETE", f"/clients/{n['client']}", None),
        ("GET", f"/tasks/{n['task']}", None),
        ("PATCH", f"/tasks/{n['task']}", {"status": "done"}),
        ("DELETE", f"/tasks/{n['task']}", None),
        ("POST", f"/notifications/{n['notification']}/read", None),
        ("GET", f"/webhooks/{n['webhook']}", None),
        ("DELETE", f"/webhooks/{n['webhook']}", None),
    ]


# Routes that take no id of ours; each is checked separately below.
_UNNAMED_ROUTES = {
    *templates.UNNAMED,
    *campaigns.UNNAMED,
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/me"),
    ("GET", "/tokens"),
    ("GET", "/groups"),
    ("POST", "/groups"),
    ("GET", "/projects"),
    ("POST", "/projects"),
    ("GET", "/accounts"),
    ("POST", "/accounts"),
    ("POST", "/accounts/test"),  # settings in the body, no stored data (tests/api)
    ("GET", "/company"),
    ("GET", "/autoconfig"),  # no company data: proposed settings for an address
    ("PATCH", "/company"),
    ("GET", "/company/domains"),  # the caller's own company only (tests/deliverability)
    ("POST", "/company/domains"),
    ("GET", "/company/relay"),  # the caller's own company only (tests/api/test_senders.py)
    ("GET", "/contacts"),  # lists and creation: tests/newmail/test_crm_api.py
    ("POST", "/contacts"),
    ("GET", "/clients"),
    ("POST", "/clients"),
    ("GET", "/tasks"),
    ("GET", "/notifications"),  # only ever the caller's own
    ("POST", "/notifications/read-all"),
    ("GET", "/webhooks"),
    ("POST", "/webhooks"),
    ("POST", "/migrations"),  # account ids in the body: tests/mailbox/test_migration.py
    ("POST", "/companies"),
    ("GET", "/companies/{company_id}"),
    ("GET", "/oauth/callback"),  # no token: the state names the sign-in (tests/oauth)
    ("PATCH", "/companies/{company_id}"),
    ("POST", "/messages"),  # their file or account named in the body: tests/api/test_messages.py
    ("POST", "/messages/batch"),  # the same per item: tests/api/test_messages_batch.py
    ("GET", "/messages"),
    ("POST", "/files"),
    ("GET", "/files"),
    ("POST", "/drafts"),
    ("GET", "/drafts"),
}


_PATH_PARAMETERS = {
    "users": "user_id",
    "groups": "group_id",
    "projects": "project_id",
    "accounts": "account_id",
    "tokens": "token_id",
    "messages": "message_id",
    "files": "file_id",
    "drafts": "draft_id",
    "domains": "domain_id",
    "contacts": "contact_id",
    "clients": "client_id",
    "tasks": "task_id",
    "notifications": "notification_id",
    "webhooks": "webhook_id",
    "folders": "folder_id",
    "mail": "mail_id",
    "threads": "mail_id",
    "attachments": "part",
    "migrations": "migration_id",
    **templates.PATH_PARAMETERS,
    **campaigns.PATH_PARAMETERS,
}


def _template(path: str, r: Resources) -> str:
    """An id takes the name its collection gives it: /files/3/content is
    /files/{file_id}/content (ids of different tables are often equal)."""
    parts = path.split("?")[0].split("/")
    return "/".join(
        f"{{{_PATH_PARAMETERS[parts[i - 1]]}}}"
        if part.isdigit() and parts[i - 1] in _PATH_PARAMETERS
        else part
        for i, part in enumerate(parts)
    )


def test_every_api_route_is_covered(runtime: Runtime, ours: Resources) -> None:
    """A new endpoint must be added to the table above, or this test fails."""
    app = create_api_app(runtime)
    routes = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    covered = {(method, _template(path, ours)) for method, path, _ in _requests(ours)}
    assert routes - covered - _UNNAMED_ROUTES == set()


def _newmail_paths(n: dict[str, int]) -> list[str]:
    kept = ("contact", "client", "task", "webhook")
    return [*(f"/{kind}s/{n[kind]}" for kind in kept if kind in n), "/notifications"]


def _snapshot(client: TestClient, admin: Member, r: Resources) -> list[Any]:
    paths = [
        f"/users/{r.user['id']}",
        f"/groups/{r.group['id']}",
        f"/projects/{r.project['id']}",
        f"/accounts/{r.account['id']}",
        f"/tokens?user_id={r.user['id']}",
        f"/messages/{r.sending['message']}",
        f"/files/{r.sending['file']}",
        f"/drafts/{r.sending['draft']}",
        f"/company/domains/{r.domain_id}",
        *_newmail_paths(r.newmail or {}),
        *(mailbox_paths(r.account["id"], r.mailbox) if r.mailbox else []),
        *(templates.template_paths(r.templates) if r.templates else []),
        *(campaigns.campaign_paths(r.campaigns) if r.campaigns else []),
    ]
    return [client.get(f"/api/v1{p}", headers=admin.headers).json() for p in paths]


def test_other_company_gets_404_for_every_route_and_changes_nothing(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, ours: Resources
) -> None:
    before = _snapshot(client, tenant.admin, ours)
    for method, path, body in _requests(ours):
        response = client.request(
            method, f"/api/v1{path}", headers=other_tenant.admin.headers, json=body
        )
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] == "not_found"
        for secret_or_data in (
            "anna@alfa",
            "Księgowość",
            "Klient Gamma",
            "smtp.alfa",
            MAILBOX_PASSWORD,
        ):
            assert secret_or_data not in response.text, (method, path)
    assert _snapshot(client, tenant.admin, ours) == before


def test_a_nonexistent_id_and_another_companys_id_look_the_same(
    client: TestClient, other_tenant: Tenant, ours: Resources
) -> None:
    headers = other_tenant.admin.headers
    theirs = client.get(f"/api/v1/accounts/{ours.account['id']}", headers=headers).json()
    missing = client.get("/api/v1/accounts/999999", headers=headers).json()
    assert theirs["detail"].replace(str(ours.account["id"]), "N") == missing["detail"].replace(
        "999999", "N"
    )


@pytest.mark.parametrize(
    "path",
    [
        *("users", "groups", "projects", "accounts", "tokens", "messages", "files", "drafts"),
        *("contacts", "clients", "tasks", "notifications", "webhooks"),  # tests/newmail
        "templates",
        "campaigns",
    ],
)
def test_lists_show_only_own_company(
    client: TestClient, other_tenant: Tenant, ours: Resources, path: str
) -> None:
    response = client.get(f"/api/v1/{path}", headers=other_tenant.admin.headers)
    assert response.status_code == 200
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    # The other company has only its administrator and the administrator's one token.
    expected = {"users": [other_tenant.admin.email], "tokens": ["tests"]}.get(path, [])
    assert [item.get("email", item.get("name")) for item in items] == expected
    if isinstance(body, dict):
        assert body["total"] == len(expected)  # counts include nothing of another company


def test_list_filters_cannot_reach_into_another_company(
    client: TestClient, other_tenant: Tenant, ours: Resources
) -> None:
    headers = other_tenant.admin.headers
    for query in (f"project_id={ours.project['id']}", f"owner={ours.user['id']}", "q=alfa"):
        body = client.get(f"/api/v1/accounts?{query}", headers=headers).json()
        assert body == {"items": [], "total": 0, "limit": 50, "offset": 0}, query


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("accounts", "project_ids"),
        ("accounts", "access_user_ids"),
        ("accounts", "access_group_ids"),
        ("accounts", "owner_user_id"),
        ("groups", "member_ids"),
    ],
)
def test_linking_another_companys_rows_is_invalid(
    client: TestClient, other_tenant: Tenant, ours: Resources, path: str, field: str
) -> None:
    ids = {
        "project_ids": [ours.project["id"]],
        "access_user_ids": [ours.user["id"]],
        "access_group_ids": [ours.group["id"]],
        "owner_user_id": ours.user["id"],
        "member_ids": [ours.user["id"]],
    }
    body: dict[str, Any] = (
        {"name": "X"}
        if path == "groups"
        else {"email_address": "x@beta.example.test", "smtp_host": "smtp.beta.example.test"}
    )
    body[field] = ids[field]
    response = client.post(f"/api/v1/{path}", headers=other_tenant.admin.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    listed = client.get(f"/api/v1/{path}", headers=other_tenant.admin.headers).json()
    assert listed["total"] == 0  # nothing half-saved


def test_own_company_endpoint_shows_only_own_company(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    body = client.get("/api/v1/company", headers=other_tenant.admin.headers).json()
    assert body["id"] == other_tenant.company_id
    assert body["name"] == "Firma Beta"
    renamed = client.patch(
        "/api/v1/company", headers=other_tenant.admin.headers, json={"name": "Beta 2"}
    ).json()
    assert renamed["id"] == other_tenant.company_id
    mine = client.get("/api/v1/company", headers=tenant.admin.headers).json()
    assert mine["name"] == "Biuro Rachunkowe Alfa"


def test_company_tokens_cannot_use_platform_endpoints(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    headers = other_tenant.admin.headers
    assert client.get(f"/api/v1/companies/{tenant.company_id}", headers=headers).status_code == 401
    assert (
        client.patch(
            f"/api/v1/companies/{tenant.company_id}", headers=headers, json={"verified": True}
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/api/v1/companies",
            headers=headers,
            json={"name": "X", "admin": {"email": "x@x.example.test"}},
        ).status_code
        == 401
    )
