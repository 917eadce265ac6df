"""The words search indexes and queries are made of, the same for SQLite FTS5 and PostgreSQL.

Both engines get text already split into lower-case words of letters and digits, so their
own tokenizers have nothing left to decide (e-mail addresses, URLs and punctuation would
otherwise be split differently by FTS5's unicode61 and PostgreSQL's parser).
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")
_ASCII = re.compile(r"[\x00-\x7f]+")
MAX_INDEXED_CHARS = 200_000  # of body text per message; more is rarely searched and bloats
# PostgreSQL drops words over 2,047 bytes; both engines get words cut well below that.
MAX_WORD_CHARS = 100


def _words(text: str) -> list[str]:
    """Letters and ASCII digits only: `\\w` also matches "²" or "٣", which FTS5 keeps in a
    word and PostgreSQL's parser does not, so such characters split words instead."""
    found = _WORD.findall(text)
    beyond_ascii = _ASCII.sub("", "".join(found))
    if not beyond_ascii or beyond_ascii.isalpha():  # the usual text: the words as found
        if max(map(len, found), default=0) <= MAX_WORD_CHARS:
            return found
        return [word[:MAX_WORD_CHARS] for word in found]
    words: list[str] = []
    for word in found:
        if not (word.isascii() or word.isalpha()):
            cleaned = "".join(ch if ch.isalpha() or ch.isascii() else " " for ch in word)
            words.extend(part[:MAX_WORD_CHARS] for part in cleaned.split())
        else:
            words.append(word[:MAX_WORD_CHARS])
    return words


def searchable_words(text: str) -> str:
    """Lower-cased words of `text`, NFC-normalized, separated by single spaces."""
    normalized = unicodedata.normalize("NFC", text[:MAX_INDEXED_CHARS]).casefold()
    return " ".join(_words(normalized))
