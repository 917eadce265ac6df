"""Editing the header section of a built message in place: the body and other fields untouched."""

# The MIME builder's output is final bytes; re-parsing and re-serialising it with the email
# package would refold headers and could re-encode parts. A field is replaced or added as a
# whole line (folded value, CRLF ends), so everything else stays byte for byte as built and a
# DKIM signature made afterwards covers exactly what is sent.

from __future__ import annotations

_CRLF = b"\r\n"
_END = b"\r\n\r\n"


def _split(raw: bytes) -> tuple[list[bytes], bytes]:
    """The fields (each with its continuation lines, without the final CRLF), and the rest
    (the empty line and the body)."""
    end = raw.find(_END)
    head, rest = (raw, b"") if end < 0 else (raw[:end], raw[end + 2 :])
    fields: list[bytes] = []
    for line in head.split(_CRLF):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += _CRLF + line  # a folded line continues the field above (RFC 5322 §2.2.3)
        else:
            fields.append(line)
    return fields, rest


def _name(field: bytes) -> bytes:
    return field.split(b":", 1)[0].strip().lower()


def _line(name: str, value: str) -> bytes:
    """`Name: value` with the folds given as "\\n " (as mime_headers makes them) in CRLF form."""
    if any(ch in value for ch in "\r\0") or "\n" in value.replace("\n ", ""):
        raise ValueError(f"a {name} value may fold only at '\\n ': {value!r}")
    return f"{name}: {value}".replace("\n", "\r\n").encode("ascii")


def get_field(raw: bytes, name: str) -> str | None:
    """The first `name` field's value, unfolded, or None."""
    fields, _rest = _split(raw)
    wanted = name.lower().encode("ascii")
    for field in fields:
        if _name(field) == wanted:
            value = field.split(b":", 1)[1].replace(_CRLF, b"")
            return value.decode("ascii", "replace").strip()
    return None


def set_field(raw: bytes, name: str, value: str) -> bytes:
    """`raw` with one `name` field holding `value`: where the first one was, else at the end
    of the header section."""
    fields, rest = _split(raw)
    wanted = name.lower().encode("ascii")
    line, placed, kept = _line(name, value), False, []
    for field in fields:
        if _name(field) != wanted:
            kept.append(field)
        elif not placed:
            kept.append(line)
            placed = True
    if not placed:
        kept.append(line)
    return _CRLF.join(kept) + _CRLF + rest


def remove_field(raw: bytes, name: str) -> bytes:
    fields, rest = _split(raw)
    wanted = name.lower().encode("ascii")
    return _CRLF.join(f for f in fields if _name(f) != wanted) + _CRLF + rest
