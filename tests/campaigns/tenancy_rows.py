"""Campaign rows and routes for the tenancy table (tests/api/test_tenancy.py)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.campaigns.support import create_campaign, make_template, rows
from tests.support import Member

# The caller's own company only: tests/campaigns (lists, creation naming another's template).
UNNAMED = {("GET", "/campaigns"), ("POST", "/campaigns")}
PATH_PARAMETERS = {"campaigns": "campaign_id"}


def campaign_rows(client: TestClient, admin: Member, project_id: int) -> dict[str, int]:
    """A survey campaign of Klient Gamma with one row, a draft (nothing is sent); in the
    project, whose account is the only one the administrator may send from."""
    template = make_template(client, admin, name="Ankieta Klient Gamma", kind="other")
    made = create_campaign(
        client,
        admin,
        name="Kampania Klient Gamma",
        kind="survey",
        template_id=template["id"],
        project_id=project_id,
        recipients=rows(1),
        questions=[{"kind": "text", "text": "Klient Gamma?"}],
    )
    return {"campaign": made["id"]}


def campaign_requests(ids: dict[str, int]) -> list[tuple[str, str, dict[str, Any] | None]]:
    path = f"/campaigns/{ids['campaign']}"
    return [
        ("GET", path, None),
        ("PATCH", path, {"name": "Hacked"}),
        ("GET", f"{path}/recipients", None),
        ("POST", f"{path}/recipients", {"recipients": [{"email": "evil@example.test"}]}),
        ("POST", f"{path}/recipients/upload", None),
        ("POST", f"{path}/start", {"send_valid_only": True}),
        ("POST", f"{path}/pause", None),
        ("POST", f"{path}/resume", None),
        ("POST", f"{path}/cancel", None),
        ("GET", f"{path}/events", None),
        ("GET", f"{path}/survey", None),
        ("GET", f"{path}/survey.csv", None),
    ]


def campaign_paths(ids: dict[str, int]) -> list[str]:
    path = f"/campaigns/{ids['campaign']}"
    return [path, f"{path}/recipients", f"{path}/survey"]
