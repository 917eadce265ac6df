"""Translation catalogues (Polish, English) keyed by the English source string."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from postroom.enums import Language

DEFAULT_LANGUAGE = Language.PL


def N_(message: str) -> str:  # noqa: N802  (the gettext convention, found by the catalogue test)
    """Mark a string for translation where it is defined; it is translated where it is shown."""
    return message


@cache
def catalogue(language: Language) -> dict[str, str]:
    text = resources.files("postroom.web").joinpath(f"translations/{language.value}.json")
    data: dict[str, str] = json.loads(text.read_text(encoding="utf-8"))
    return data


def parse_language(value: str | None) -> Language | None:
    try:
        return Language(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Translator:
    """`_("Saved")` in the visitor's language; a missing entry falls back to the English key."""

    language: Language

    def __call__(self, message: str, **values: Any) -> str:
        text = catalogue(self.language).get(message, message)
        return text.format(**values) if values else text
