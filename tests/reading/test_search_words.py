"""The search words' quick path for usual text gives what the character-by-character rule
gives, for any text (digits of other scripts, superscripts, long words, Polish letters)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from postroom.services.search_text import _WORD, MAX_WORD_CHARS, _words, searchable_words


def _by_the_rule(text: str) -> list[str]:
    words: list[str] = []
    for word in _WORD.findall(text):
        cleaned = "".join(ch if ch.isalpha() or ch.isascii() else " " for ch in word)
        words.extend(part[:MAX_WORD_CHARS] for part in cleaned.split())
    return words


_PIECES = [*"abcz019 ąęłśżźćńó_-.,²³٣۵ⅫＡ\t\n", "x" * 120]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=300).map("".join)


@settings(max_examples=400, deadline=None)
@given(_TEXT | st.text(max_size=200))
def test_the_quick_path_gives_the_rules_words(text: str) -> None:
    assert _words(text) == _by_the_rule(text)


def test_examples() -> None:
    assert searchable_words("Zażółć GĘŚLĄ jaźń, m² 2٣4") == "zażółć gęślą jaźń m 2 4"
    assert _words("a" * 150) == ["a" * MAX_WORD_CHARS]
