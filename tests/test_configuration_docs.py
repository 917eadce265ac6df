"""Every setting is documented: an operator reads docs/configuration.md, not config.py."""

from __future__ import annotations

from pathlib import Path

from postroom.config import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_every_setting_is_in_the_configuration_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [
        f"POSTROOM_{name.upper()}"
        for name in Settings.model_fields
        if f"`POSTROOM_{name.upper()}`" not in text
    ]
    assert missing == []
