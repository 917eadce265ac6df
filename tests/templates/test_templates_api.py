"""The templates API: create, versions that never change, archive, preview, errors by field."""

from __future__ import annotations

from fastapi.testclient import TestClient

from postroom.enums import Role
from tests.support import Tenant
from tests.templates.support import INVOICE_HTML, INVOICE_ROW, make_template


def test_create_and_read_back(client: TestClient, tenant: Tenant) -> None:
    made = make_template(client, tenant.admin)
    assert made["current_version"] == 1
    assert made["category"] == "own_template"  # an invoice from the company's own template
    assert made["variables"] == ["amount", "client", "due", "invoice_no"]
    read = client.get(f"/api/v1/templates/{made['id']}", headers=tenant.admin.headers).json()
    assert read == made
    listed = client.get("/api/v1/templates", headers=tenant.admin.headers).json()
    assert listed["total"] == 1
    assert listed["items"][0]["subject"] == made["subject"]


def test_categories_follow_the_document_kind(client: TestClient, tenant: Tenant) -> None:
    cases = {"payslip": "hr", "crm_document": "own_template", "other": "none"}
    for kind, category in cases.items():
        made = make_template(client, tenant.admin, name=f"T {kind}", document_kind=kind)
        assert made["category"] == category, kind


def test_each_content_change_is_a_new_version_and_old_ones_never_change(
    client: TestClient, tenant: Tenant
) -> None:
    headers = tenant.admin.headers
    made = make_template(client, tenant.admin)
    path = f"/api/v1/templates/{made['id']}"
    first = client.get(f"{path}/versions/1", headers=headers).json()

    renamed = client.patch(path, headers=headers, json={"name": "Faktura VAT"}).json()
    assert renamed["current_version"] == 1  # a name is not content
    same = client.patch(path, headers=headers, json={"html": INVOICE_HTML}).json()
    assert same["current_version"] == 1  # unchanged content makes no version

    second = client.patch(path, headers=headers, json={"text": "Kwota: {{ amount }}"}).json()
    assert second["current_version"] == 2
    assert second["html"] == INVOICE_HTML  # parts not sent are carried over
    third = client.patch(path, headers=headers, json={"subject": "Faktura {{ invoice_no }}"})
    assert third.json()["current_version"] == 3
    assert third.json()["current_version_id"] != second["current_version_id"]

    assert client.get(f"{path}/versions/1", headers=headers).json() == first
    versions = client.get(f"{path}/versions", headers=headers).json()
    assert [v["version"] for v in versions["items"]] == [3, 2, 1]
    assert versions["items"][1]["variables"] == ["amount", "client", "due", "invoice_no"]
    assert "html" not in versions["items"][0]  # the list leaves the bodies out
    missing = client.get(f"{path}/versions/9", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"Template {made['id']} has no version 9."


def test_a_syntax_error_is_refused_with_its_part_and_line(
    client: TestClient, tenant: Tenant
) -> None:
    body = {"name": "Zły", "subject": "S", "html": "<p>a</p>\n<p>{{ name }</p>"}
    response = client.post("/api/v1/templates", headers=tenant.admin.headers, json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "template_error"
    assert problem["errors"][0]["field"] == "html"
    assert problem["errors"][0]["code"] == "syntax_error"
    assert problem["detail"].startswith("Line 2 of the HTML body:")
    assert client.get("/api/v1/templates", headers=tenant.admin.headers).json()["total"] == 0


def test_bad_input_names_the_field(client: TestClient, tenant: Tenant) -> None:
    headers = tenant.admin.headers
    cases = [
        ({"name": "A", "subject": "Line\nbreak", "html": "x"}, "subject"),
        ({"name": "A", "subject": "S", "html": "", "text": " "}, "html"),
        ({"name": "", "subject": "S", "html": "x"}, "name"),
        ({"name": "A", "subject": "S", "html": "x", "document_kind": "poem"}, "document_kind"),
        ({"name": "A", "subject": "S", "html": "{% include 'x' %}"}, "html"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/templates", headers=headers, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field, body


def test_names_are_unique_in_the_company(client: TestClient, tenant: Tenant) -> None:
    make_template(client, tenant.admin)
    again = client.post(
        "/api/v1/templates",
        headers=tenant.admin.headers,
        json={"name": "Faktura", "subject": "S", "text": "x"},
    )
    assert again.status_code == 409
    assert again.json()["code"] == "name_taken"


def test_archive_hides_and_restore_brings_back(client: TestClient, tenant: Tenant) -> None:
    headers = tenant.admin.headers
    made = make_template(client, tenant.admin)
    path = f"/api/v1/templates/{made['id']}"
    assert client.delete(path, headers=headers).status_code == 204
    assert client.get("/api/v1/templates", headers=headers).json()["total"] == 0
    archived = client.get("/api/v1/templates?archived=true", headers=headers).json()
    assert [t["id"] for t in archived["items"]] == [made["id"]]
    assert client.get(path, headers=headers).json()["archived"] is True  # still readable
    assert client.patch(path, headers=headers, json={"archived": False}).status_code == 200
    assert client.get("/api/v1/templates", headers=headers).json()["total"] == 1


def test_only_the_author_or_an_administrator_archives(client: TestClient, tenant: Tenant) -> None:
    anna, bob = tenant.add_user(Role.USER), tenant.add_user(Role.USER)
    made = make_template(client, anna)
    path = f"/api/v1/templates/{made['id']}"
    edited = client.patch(path, headers=bob.headers, json={"text": "Bob was here"})
    assert edited.status_code == 200  # every user may write the company's templates
    refused = client.delete(path, headers=bob.headers)
    assert refused.status_code == 403
    assert client.patch(path, headers=bob.headers, json={"archived": True}).status_code == 403
    assert client.delete(path, headers=anna.headers).status_code == 204


def test_preview_renders_a_version(client: TestClient, tenant: Tenant) -> None:
    headers = tenant.admin.headers
    made = make_template(client, tenant.admin)
    path = f"/api/v1/templates/{made['id']}"
    client.patch(path, headers=headers, json={"subject": "Nowa {{ invoice_no }}"})
    current = client.post(f"{path}/preview", headers=headers, json={"variables": INVOICE_ROW})
    assert current.status_code == 200, current.text
    assert current.json()["subject"] == "Nowa FV/7/2026"
    assert current.json()["version"] == 2
    old = client.post(
        f"{path}/preview",
        headers=headers,
        json={"variables": INVOICE_ROW, "version": 1, "language": "en"},
    ).json()
    assert old["subject"] == "Faktura FV/7/2026 dla Gamma sp. z o.o."
    assert "PLN&nbsp;1,234.56" in old["html"]
    assert "23 Nov 2026" in old["text"]


def test_preview_with_a_missing_variable_names_line_and_variable(
    client: TestClient, tenant: Tenant
) -> None:
    made = make_template(client, tenant.admin)
    variables = {**INVOICE_ROW, "client": {"name": "Gamma"}}
    response = client.post(
        f"/api/v1/templates/{made['id']}/preview",
        headers=tenant.admin.headers,
        json={"variables": variables},
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "template_error"
    assert problem["detail"] == "Line 3 of the HTML body: the variable 'client.nip' has no value."
    assert problem["errors"] == [
        {"field": "html", "message": problem["detail"], "code": "undefined_variable"}
    ]


def test_preview_of_an_escape_is_refused(client: TestClient, tenant: Tenant) -> None:
    made = make_template(
        client, tenant.admin, name="Zły", subject="S", html="{{ x.__class__.__mro__ }}"
    )
    response = client.post(
        f"/api/v1/templates/{made['id']}/preview",
        headers=tenant.admin.headers,
        json={"variables": {"x": 1}},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "unsafe"
