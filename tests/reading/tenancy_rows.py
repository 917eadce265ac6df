"""The reading and search routes for the tenancy table (tests/api/test_tenancy.py), naming the
rows tests/mailbox/tenancy_rows.py makes: every one must be a 404 for another company."""

from __future__ import annotations

from typing import Any


def reading_requests(
    account_id: int, rows: dict[str, int]
) -> list[tuple[str, str, dict[str, Any] | None]]:
    folder, mail = rows["folder"], rows["mail"]
    return [
        ("GET", f"/mail/folders?account_id={account_id}", None),
        ("GET", f"/mail?folder_id={folder}", None),
        ("GET", f"/mail?account_id={account_id}", None),
        ("GET", f"/mail/search?q=tajne&folder_id={folder}", None),
        ("GET", f"/mail/search?q=tajne&account_id={account_id}", None),
        ("GET", f"/mail/threads/{mail}", None),
        ("GET", f"/mail/{mail}", None),
        ("GET", f"/mail/{mail}/raw", None),
        ("GET", f"/mail/{mail}/attachments/1", None),
    ]
