"""The words search indexes and queries are made of, the same for SQLite FTS5 and PostgreSQL.

Both engines get text already split into lower-case words of letters and digits, so their
own tokenizers have nothing left to decide (e-mail addresses, URLs and punctuation would
otherwise be split differently by FTS5's unicode61 and PostgreSQL's parser).
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")
MAX_INDEXED_CHARS = 200_000  # of body text per message; more is rarely searched and bloats


def searchable_words(text: str) -> str:
    """Lower-cased words of `text`, NFC-normalized, separated by single spaces."""
    normalized = unicodedata.normalize("NFC", text[:MAX_INDEXED_CHARS]).casefold()
    return " ".join(_WORD.findall(normalized))
