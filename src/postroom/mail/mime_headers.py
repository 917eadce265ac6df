"""Header values the email package folds wrongly, written and folded here (RFC 5322, 2047)."""

# Address headers: Python 3.11 folds a display name into encoded words without keeping the
# space between two words that both needed encoding, and RFC 2047 §6.2 tells every reader
# to drop the white space between adjacent encoded words, so "Łukasz Żółw" could arrive as
# "ŁukaszŻółw". Message-ID lists: it turns an id longer than a line into encoded words.

from __future__ import annotations

import re
from email.charset import Charset

FOLD_AT = 78  # RFC 5322 §2.1.1: lines SHOULD be at most 78 characters
# An encoded word is at most 75 characters (RFC 2047 §2): "=?utf-8?b?" + 60 + "?=" holds
# 45 bytes of UTF-8.
_WORD_BYTES = 45
_UTF8 = Charset("utf-8")
# Names written as they are: atoms separated by single spaces (RFC 5322 §3.2.3 atext).
_ATOMS = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+( [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_QUOTABLE = re.compile(r"^[\x20-\x7e]+$")
_PLAIN_NAME_CHARS = 60


def _chunks(text: str) -> list[str]:
    """`text` in pieces of at most _WORD_BYTES of UTF-8, never splitting a character."""
    pieces, current, size = [], "", 0
    for char in text:
        width = len(char.encode("utf-8"))
        if current and size + width > _WORD_BYTES:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += width
    return [*pieces, current] if current else pieces


def phrase_tokens(name: str) -> list[str]:
    """A display name as tokens between which a line may be folded.

    Plain ASCII stays readable (atoms, or one quoted-string); anything else becomes encoded
    words, each holding its own spaces, so folding between them loses nothing.
    """
    if not name:
        return []
    if "=?" not in name and len(name) <= _PLAIN_NAME_CHARS:
        if _ATOMS.match(name):
            return name.split(" ")
        if _QUOTABLE.match(name):
            return ['"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"']
    return [_UTF8.header_encode(piece) for piece in _chunks(name)]


def fold(header_name: str, tokens: list[str], separator: str = " ") -> str:
    """Tokens joined by `separator`, folded before a token when the line would pass 78.

    Returns the value with "\\n " at each fold, for EmailMessage.set_raw().
    """
    lines: list[str] = []
    line = ""
    width = len(header_name) + 2  # "Name: "
    for token in tokens:
        if line and width + len(line) + len(separator) + len(token) > FOLD_AT:
            lines.append(line)
            line, width = " " + token, 0
        elif line:
            line = f"{line}{separator}{token}"
        else:
            line = token
    lines.append(line)
    return "\n".join(lines)


def address_list(header_name: str, mailboxes: list[tuple[str, str]]) -> str:
    """`Name <addr>, …` for (display name, ASCII address) pairs, folded."""
    tokens: list[str] = []
    for index, (name, address) in enumerate(mailboxes):
        words = [*phrase_tokens(name), f"<{address}>"] if name else [address]
        if index < len(mailboxes) - 1:
            words[-1] += ","
        tokens += words
    return fold(header_name, tokens)


def message_id_list(header_name: str, ids: list[str]) -> str:
    """`<id> <id> …`, folded between ids, never inside one."""
    return fold(header_name, [f"<{message_id}>" for message_id in ids])


def _plain_word(word: str) -> bool | None:
    """Whether a word may be written as it is; None for an empty word (a second space)."""
    if not word:
        return None
    printable = all("!" <= ch <= "~" for ch in word)
    return printable and "=?" not in word and len(word) <= _PLAIN_NAME_CHARS


def _word_kinds(words: list[str]) -> list[bool]:
    """Each word plain or not; an empty word (from a run of spaces) is encoded when the words
    on both sides are, or its space would fall between two encoded words and be dropped."""
    kinds = [_plain_word(w) for w in words]
    decided = [k for k in kinds if k is not None]
    result, seen = [], 0
    for kind in kinds:
        if kind is not None:
            result.append(kind)
            seen += 1
            continue
        left = decided[seen - 1] if seen else True
        right = decided[seen] if seen < len(decided) else True
        result.append(left or right)
    return result


def unstructured(header_name: str, text: str) -> str:
    """Unstructured text (Subject, RFC 5322 §3.2.5), folded.

    Printable ASCII words stay readable; each run of other words becomes encoded words that
    hold the run's own spaces. Python 3.11 puts the space between two such words outside
    them, where RFC 2047 §6.2 tells readers to drop it: "gęślą jaźń" arrived "gęśląjaźń".
    """
    words = text.split(" ")
    # The first encoded word shares its line with "Subject: ": fewer bytes fit in it.
    first_bytes = (FOLD_AT - len(header_name) - 2 - len("=?utf-8?b??=")) // 4 * 3
    tokens: list[str] = []
    run: list[str] = []
    for word, plain in zip(words, _word_kinds(words), strict=True):
        if not plain:
            run.append(word)
            continue
        if run:
            tokens += _encoded_run(" ".join(run), first_bytes if not tokens else _WORD_BYTES)
            run = []
        tokens.append(word)
    if run:
        tokens += _encoded_run(" ".join(run), first_bytes if not tokens else _WORD_BYTES)
    return fold(header_name, tokens)


def _encoded_run(text: str, first_bytes: int) -> list[str]:
    """Encoded words for `text`, the first holding at most `first_bytes` of UTF-8."""
    head, size = "", 0
    for char in text:
        width = len(char.encode("utf-8"))
        if head and size + width > first_bytes:
            break
        head += char
        size += width
    pieces = [head, *_chunks(text[len(head) :])] if head else _chunks(text)
    return [_UTF8.header_encode(piece) for piece in pieces]
