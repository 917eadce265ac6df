"""Invoice test fixtures."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The API client (named so that "client" stays the office's client company here)."""
    return client
