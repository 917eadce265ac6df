"""Small API helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support import Member


def create_account(client: TestClient, member: Member, **fields: Any) -> dict[str, Any]:
    body = {"email_address": "biuro@alfa.example.test", "smtp_host": "smtp.alfa.example.test"}
    body.update(fields)
    response = client.post("/api/v1/accounts", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def create(client: TestClient, member: Member, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1/{path}", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
