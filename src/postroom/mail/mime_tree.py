"""A well-formed message's MIME tree, built the quick way; anything unusual is left to the
standard library.

The `email` package's feed parser reads a message line by line in Python: a 40 KB PDF in
base64 is some 550 lines, and parsing for the search index cost about 1.5 ms a message. Here
the multipart bodies are cut at their boundary lines, found with `bytes.find` (in C), each
part's header section still goes through the `email` package (a few lines), and
each leaf gets its body as one string, exactly the payload the feed parser would give it.
The tree is the same `compat32` Message tree: containers hold their parts in order, so
`walk()` numbers the parts as it always does (attachment downloads go by that number), and
`get_payload(decode=True)`, `get_filename()` and the rest behave as they always did.

`message_tree` returns None for whatever is not plainly well-formed (bare CR line ends, no
header/body separator, a header the parser flags, a multipart without its boundary or its
closing line, message/* parts, multipart/digest): the caller then parses the whole message
with the feed parser, broken MIME and all.
"""

from __future__ import annotations

import email
import itertools
import re
from email import errors, policy
from email.message import Message

_MAX_DEPTH = 20
_NO_PARTS_YET = (errors.StartBoundaryNotFoundDefect, errors.MultipartInvariantViolationDefect)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def message_tree(raw: bytes) -> Message | None:
    """The message's tree as `email.message_from_bytes(raw, policy=compat32)` builds it, or
    None if it is not simply well-formed."""
    crlf = raw.count(b"\r\n")
    if crlf not in (0, raw.count(b"\n")) or raw.count(b"\r") != crlf:
        return None  # bare CR, or CRLF and LF mixed: the feed parser's line rules apply
    return _entity(raw, depth=0)


def _entity(data: bytes, *, depth: int) -> Message | None:
    split = _split_headers(data)
    if split is None:
        return None
    head, body = split
    message = email.message_from_bytes(head, policy=policy.compat32)
    maintype = message.get_content_maintype()
    if maintype == "multipart":  # a header section alone has no parts: checked below instead
        message.defects = [d for d in message.defects if not isinstance(d, _NO_PARTS_YET)]
    if message.defects or message.get_payload():
        return None
    if maintype == "message" or message.get_content_type() == "multipart/digest":
        return None
    if maintype != "multipart":
        message.set_payload(body.decode("ascii", "surrogateescape"))
        return message
    parts = _multipart(message, body, depth)
    if parts is None:
        return None
    message.set_payload(parts)
    return message


def _split_headers(data: bytes) -> tuple[bytes, bytes] | None:
    """The header section (with its empty line) and the body; None without an empty line.
    A part that starts with the empty line has no headers (text/plain by default)."""
    if data.startswith((b"\r\n", b"\n")):
        eol = 2 if data.startswith(b"\r\n") else 1
        return data[:eol], data[eol:]
    found = _HEADER_END.search(data)
    if found is None:
        return None
    return data[: found.end()], data[found.end() :]


def _multipart(message: Message, body: bytes, depth: int) -> list[Message | str] | None:
    boundary = message.get_boundary()
    if not boundary or depth >= _MAX_DEPTH:
        return None
    try:
        marker = boundary.encode("ascii")
    except UnicodeEncodeError:
        return None
    delimiters = _delimiters(body, b"--" + marker)
    if not delimiters or delimiters[0][2]:
        return None
    closing = next((n for n, (_, _, last) in enumerate(delimiters) if last), None)
    if closing is None:
        return None  # no closing delimiter: the feed parser notes a defect
    parts: list[Message | str] = []
    for (_, after, _), (before, _, _) in itertools.pairwise(delimiters[: closing + 1]):
        part = _entity(body[after:before], depth=depth + 1)
        if part is None:
            return None
        parts.append(part)
    return parts or None


def _delimiters(body: bytes, needle: bytes) -> list[tuple[int, int, bool]]:
    """RFC 2046 §5.1.1 delimiter lines: "--boundary" at the start of a line, "--" after it
    on the closing one, then optional white space. For each: where it starts (with the line
    end before it, which belongs to the delimiter, as the feed parser takes it), where the
    next part starts (after its own line end), and whether it is the closing one. Found
    with bytes.find (C speed); a regular expression tried at every position took 2 ms."""
    found: list[tuple[int, int, bool]] = []
    position = body.find(needle)
    while position >= 0:
        at_line_start = position == 0 or body[position - 1 : position] == b"\n"
        end = position + len(needle)
        last = body[end : end + 2] == b"--"
        if last:
            end += 2
        while body[end : end + 1] in (b" ", b"\t"):
            end += 1
        if at_line_start and (end == len(body) or body[end : end + 1] in (b"\r", b"\n")):
            before = position - 1 if position else 0
            if before and body[before - 1 : before] == b"\r":
                before -= 1
            after = end + (2 if body[end : end + 2] == b"\r\n" else 1 if end < len(body) else 0)
            found.append((before, after, last))
            if last:
                break
        position = body.find(needle, position + 1)
    return found
