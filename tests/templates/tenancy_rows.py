"""Template rows and routes for the tenancy table (tests/api/test_tenancy.py)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support import Member
from tests.templates.support import INVOICE_ROW, make_template

UNNAMED = {("GET", "/templates"), ("POST", "/templates")}  # the caller's company only
PATH_PARAMETERS = {"templates": "template_id", "versions": "version"}


def template_rows(client: TestClient, admin: Member) -> dict[str, int]:
    made = make_template(client, admin, name="Faktura Klient Gamma")
    return {"template": made["id"]}


def template_requests(ids: dict[str, int]) -> list[tuple[str, str, dict[str, Any] | None]]:
    path = f"/templates/{ids['template']}"
    return [
        ("GET", path, None),
        ("PATCH", path, {"name": "Hacked", "html": "Hacked"}),
        ("DELETE", path, None),
        ("GET", f"{path}/versions", None),
        ("GET", f"{path}/versions/1", None),
        ("POST", f"{path}/preview", {"variables": INVOICE_ROW}),
        ("POST", f"{path}/test", {"variables": INVOICE_ROW}),
    ]


def template_paths(ids: dict[str, int]) -> list[str]:
    return [f"/templates/{ids['template']}", f"/templates/{ids['template']}/versions"]
