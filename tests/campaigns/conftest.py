"""Campaign test fixtures: Postroom reached over https (one-click unsubscribe needs it)."""

from __future__ import annotations

import pytest

from postroom.config import Settings

PUBLIC_URL = "https://postroom.example.test"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_url": PUBLIC_URL})
