"""Pure parts of the mirror: IMAP response parsing, folder roles (Polish names too), batches,
and the tolerant header reader."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from postroom.enums import FolderRole
from postroom.mail.connect import MAX_LINE, Connection
from postroom.mail.errors import ProtocolError
from postroom.mail.imap_responses import (
    MAX_LINE_BYTES,
    ListedFolder,
    Response,
    as_text,
    fetch_items,
    flags_of,
    parse_internal_date,
    parse_list,
    parse_status,
    parse_uid_set,
    read_response,
    uid_set,
)
from postroom.mail.imap_sync_client import (
    _FETCHED,
    FolderStatus,
    Listing,
    ServerFolder,
    _fetched,
    _selected,
    listing_of,
)
from postroom.mail.parse import arrival_date, parse_message
from postroom.services.sync_folders import assign_roles
from postroom.services.sync_imap_download import cut_batches

T = TypeVar("T")


def _folder(name: str, *flags: str, delimiter: str = "/") -> ServerFolder:
    return ServerFolder(ListedFolder(name, name, delimiter, frozenset(flags)), None)


def test_fetch_response_with_a_literal_and_items_in_any_order() -> None:
    head = b'* 12 FETCH (FLAGS (\\Seen $Etykieta) UID 34 INTERNALDATE "07-Oct-2025 10:00:00 +0200"'
    response = Response((head + b" MODSEQ (987) BODY[] ", b")"), (b"Subject: x\r\n\r\nbody",))
    number, items = fetch_items(response) or (0, {})
    assert number == 12 and items["UID"] == "34" and items["MODSEQ"] == ["987"]
    assert items["FLAGS"] == ["\\Seen", "$Etykieta"]
    assert parse_internal_date("07-Oct-2025 10:00:00 +0200") == datetime(2025, 10, 7, 8, tzinfo=UTC)
    header = Response((b"* 1 FETCH (UID 3 BODY[HEADER.FIELDS (MESSAGE-ID)] ", b")"), (b"M",))
    assert "BODY[HEADER.FIELDS]" in (fetch_items(header) or (0, {}))[1]


def test_listing_lines_in_the_usual_form_and_any_other() -> None:
    when = datetime(2024, 1, 2, 7, 0, 21, tzinfo=UTC)
    expected = Listing(34, 5678, when)
    usual = b'* 12 FETCH (UID 34 RFC822.SIZE 5678 INTERNALDATE "02-Jan-2024 07:00:21 +0000")'
    reordered = b'* 12 FETCH (INTERNALDATE "02-Jan-2024 07:00:21 +0000" RFC822.SIZE 5678 UID 34)'
    lowered = b'* 12 fetch (uid 34 rfc822.size 5678 internaldate "02-Jan-2024 07:00:21 +0000")'
    for line in (usual, reordered, lowered):
        assert listing_of(Response((line,), ())) == expected, line
    assert listing_of(Response((usual,), ()), first_uid=35) is None  # "n:*" gives the last one
    assert listing_of(Response((b"* 3 EXISTS",), ())) is None
    no_date = listing_of(Response((b"* 1 FETCH (UID 9 RFC822.SIZE 10)",), ()))
    assert no_date == Listing(9, 10, None)


@pytest.mark.parametrize(
    "head",
    [
        b'* 1 FETCH (UID 7 FLAGS (\\Seen $Label1) INTERNALDATE "02-Jan-2024 07:00:21 +0100"'
        b" MODSEQ (5) BODY[] ",
        b'* 1 FETCH (UID 7 FLAGS () INTERNALDATE "02-Jan-2024 07:00:21 +0100" BODY[] ',
        b"* 1 FETCH (FLAGS (\\Seen) UID 7 BODY[] ",  # another order: the general reader
        b'* 1 FETCH (UID 7 FLAGS ("odd") BODY[] ',  # a quoted flag: the general reader
    ],
)
def test_a_fetched_message_reads_the_same_the_fast_and_the_general_way(head: bytes) -> None:
    response = Response((head, b")"), (b"Subject: x\r\n\r\nbody",))
    fast = _fetched(response)
    usual = head.startswith(b"* 1 FETCH (UID 7 FLAGS (") and b'"odd"' not in head
    assert (_FETCHED.match(head) is not None) == usual  # the fast way taken where it should
    number_and_items = fetch_items(response)
    assert fast is not None and number_and_items is not None
    items = number_and_items[1]
    assert fast.uid == 7 and fast.raw == b"Subject: x\r\n\r\nbody"
    assert fast.flags == flags_of(items["FLAGS"])
    date = as_text(items.get("INTERNALDATE"))
    assert fast.internal_date == (parse_internal_date(date) if date else None)
    assert fast.modseq == (5 if b"MODSEQ" in head else None)


def test_list_and_status_lines() -> None:
    listed = parse_list(Response((b'* LIST (\\HasNoChildren \\Sent) "/" "Wys&AUI-ane"',), ()))
    assert listed == ListedFolder(
        "Wys&AUI-ane", "Wysłane", "/", frozenset({"\\HASNOCHILDREN", "\\SENT"})
    )
    literal_name = parse_list(
        Response((b"* LIST () NIL ", b""), (b'Nazwa "z cudzys\xc5\x82owem"',))
    )
    assert literal_name is not None and literal_name.delimiter is None
    assert literal_name.name == 'Nazwa "z cudzysłowem"'
    status = parse_status(
        Response((b'* STATUS "INBOX" (MESSAGES 3 UIDNEXT 9 HIGHESTMODSEQ 4)',), ())
    )
    assert status == ("INBOX", {"MESSAGES": 3, "UIDNEXT": 9, "HIGHESTMODSEQ": 4})


def test_an_examine_answer_with_qresync_changes() -> None:
    lines = [
        b"* 5 EXISTS",
        b"* OK [UIDVALIDITY 1700000000] UIDs valid",
        b"* OK [UIDNEXT 12] Predicted next UID",
        b"* OK [HIGHESTMODSEQ 40] Highest",
        b"* VANISHED (EARLIER) 2:3,7",
        b"* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (39))",
    ]
    selected = _selected([Response((line,), ()) for line in lines])
    assert (selected.uidvalidity, selected.uidnext, selected.exists) == (1700000000, 12, 5)
    assert selected.highest_modseq == 40 and selected.vanished == (2, 3, 7)
    assert [(c.uid, c.flags) for c in selected.changed] == [(1, frozenset({"\\Seen"}))]


def test_uid_sets_and_batches() -> None:
    assert uid_set([9, 1, 2, 3, 7]) == "1:3,7,9" and parse_uid_set("1:3,7,9") == [1, 2, 3, 7, 9]
    todo = [(1, 100), (2, 100), (3, 900), (4, 10), (5, 10), (6, 10)]
    assert cut_batches(todo, max_messages=3, max_bytes=1000) == [[1, 2], [3, 4, 5], [6]]
    assert cut_batches([(1, 5000)], max_messages=3, max_bytes=1000) == [[1]]  # alone


def test_roles_from_special_use_then_names_including_polish_ones() -> None:
    roles = assign_roles(
        [
            _folder("INBOX"),
            _folder("Wysłane"),
            _folder("Kosz"),
            _folder("Elementy usunięte"),
            _folder("Wersje robocze"),
            _folder("Spam"),
            _folder("Archiwum/2024"),
            _folder("Archiwum"),
            _folder("Projekty"),
        ]
    )
    assert roles == {
        "INBOX": FolderRole.INBOX,
        "Wysłane": FolderRole.SENT,
        "Kosz": FolderRole.TRASH,
        "Wersje robocze": FolderRole.DRAFTS,
        "Spam": FolderRole.JUNK,
        "Archiwum": FolderRole.ARCHIVE,
    }
    flagged = assign_roles([_folder("INBOX"), _folder("Kosz"), _folder("Śmieci", "\\TRASH")])
    assert flagged["Śmieci"] is FolderRole.TRASH and "Kosz" not in flagged
    chosen = assign_roles([_folder("Sent"), _folder("Moje wysłane")], sent="Moje wysłane")
    assert chosen == {"Moje wysłane": FolderRole.SENT}  # the account's choice wins (A7)
    courier = assign_roles([_folder("INBOX.Sent", delimiter=".")])
    assert courier == {"INBOX.Sent": FolderRole.SENT}
    unselectable = ServerFolder(ListedFolder("Sent", "Sent", "/", frozenset({"\\NOSELECT"})), None)
    assert assign_roles([unselectable]) == {}
    assert FolderStatus() == FolderStatus(None, None, None, None)


def test_headers_are_read_tolerantly() -> None:
    raw = (
        b"From nobody Mon Jan 1 00:00:00 2024\r\n"  # an mbox line: not a header
        b"Received: from a by b; Tue, 2 Jan 2024 08:00:00 +0100\r\n"
        b"Subject: =?utf-8?q?Zam=C3=B3wienie?=\r\n =?utf-8?q?_nr_7?=\r\n"
        b'To: "Kowalski, Jan" <jan@example.test>, =?utf-8?q?=C5=BBaneta?= <z@example.test>\r\n'
        b"Cc: (komentarz) ola@example.test\r\n"
        b"Message-ID: bez-nawiasow@example.test\r\n"
        b"References: <a@x> <b@x>\r\n"
        b"Precedence: bulk\r\n\r\nbody"
    )
    parsed = parse_message(raw, with_body=False)
    assert parsed.subject == "Zamówienie nr 7"
    assert parsed.to == [
        {"name": "Kowalski, Jan", "address": "jan@example.test"},
        {"name": "Żaneta", "address": "z@example.test"},
    ]
    assert [c["address"] for c in parsed.cc] == ["ola@example.test"]
    assert parsed.message_id == "bez-nawiasow@example.test" and parsed.thread_root == "a@x"
    assert parsed.auto_submitted
    assert arrival_date(raw) == datetime(2024, 1, 2, 7, tzinfo=UTC)


async def _from_server(payload: bytes, read: Callable[[Connection], Awaitable[T]]) -> T:
    async def serve(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=MAX_LINE)
    try:
        return await read(Connection(reader, writer, "127.0.0.1"))
    finally:
        writer.close()
        server.close()


async def test_a_vanished_line_longer_than_the_stream_buffer_is_read_whole() -> None:
    """A large mailbox's VANISHED (EARLIER) answer lists scattered UIDs on one line, far past
    the 64 KB a single read of the stream may hold."""
    uids = list(range(1, 120_000, 2))  # no ranges: every UID written out, ~360 KB
    line = b"* VANISHED (EARLIER) " + ",".join(map(str, uids)).encode() + b"\r\n"
    assert len(line) > 5 * MAX_LINE
    response = await _from_server(line + b"* 1 EXISTS\r\n", read_response)
    assert response.fragments == (line.rstrip(b"\r\n"),)
    assert _selected([response]).vanished == tuple(uids)


async def test_a_line_past_the_callers_bound_is_a_protocol_error() -> None:
    line = b"* OK " + b"x" * 300_000 + b"\r\n"
    assert await _from_server(line, lambda conn: conn.read_line(400_000)) == line
    with pytest.raises(ProtocolError, match="longer than 200000 bytes"):
        await _from_server(line, lambda conn: conn.read_line(200_000))
    with pytest.raises(ProtocolError, match=f"longer than {MAX_LINE} bytes"):
        await _from_server(line, lambda conn: conn.read_line())  # SMTP, POP3: 64 KB
    assert MAX_LINE_BYTES > 300_000
