"""Drafts on the account's IMAP server (C4): stored with \\Draft, each save replacing the last.

Every stored copy carries `X-Postroom-Draft: draft-<company>-<id>; v=<saved at>`. Whether
the server already has the current version is asked of the server itself (a header SEARCH),
so nothing extra is kept in the database; `StoredDrafts` remembers within one worker what it
stored, so unchanged drafts cost nothing after the first look. A sent or deleted draft stays
as a tombstone row (`deleted_at`) until its copy is removed from the server, so a worker that
restarts in between still removes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import delete, select, update

from postroom.db.base import utcnow
from postroom.mail import imap_client
from postroom.mail.errors import MailError
from postroom.mail.imap_probe import ImapSession
from postroom.services.imap_access import (
    ImapAccount,
    login,
    logout,
    read_imap_account,
    record_imap_failure,
)
from postroom.services.outbox_tables import DRAFTS
from postroom.services.runtime import Runtime

log = logging.getLogger("postroom.drafts")
DRAFT_HEADER = "X-Postroom-Draft"
DRAFT_FLAGS = ("\\Draft", "\\Seen")
D = DRAFTS.c


@dataclass(frozen=True)
class DraftRow:
    id: int
    company_id: int
    account_id: int
    updated_at: datetime

    @property
    def token(self) -> str:
        return draft_token(self.company_id, self.id)

    @property
    def version(self) -> str:
        return f"{self.token}; v={self.updated_at.isoformat()}"


@dataclass
class StoredDrafts:
    """What this worker stored: (company, draft) → (account, version saved)."""

    known: dict[tuple[int, int], tuple[int, datetime]] = field(default_factory=dict)


def draft_token(company_id: int, draft_id: int) -> str:
    return f"draft-{company_id}-{draft_id}"


def _one_line(value: object) -> str:
    # Drafts are not validated (half-typed is normal), so no CR/LF may reach a header.
    return " ".join(str(value).split())


def _addresses(values: Any) -> str:
    items = values if isinstance(values, list) else []
    shown = []
    for item in items:
        if isinstance(item, dict):
            name, address = item.get("name") or "", item.get("address") or ""
            shown.append(f'"{_one_line(name)}" <{_one_line(address)}>' if name else address)
        else:
            shown.append(_one_line(item))
    return ", ".join(a for a in shown if a)


def draft_mime(content: dict[str, Any], sender: str, version: str, now: datetime) -> bytes:
    """The draft as a message for the IMAP drafts folder (attachments are not copied)."""
    message = EmailMessage()
    message["From"] = _one_line(sender)
    for header in ("to", "cc", "bcc"):
        if value := _addresses(content.get(header)):
            message[header.capitalize()] = value
    message["Subject"] = _one_line(content.get("subject") or "")
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "postroom.invalid")
    message[DRAFT_HEADER] = version
    text, html = content.get("text"), content.get("html")
    message.set_content(str(text) if text else "")
    if html:
        message.add_alternative(str(html), subtype="html")
    return message.as_bytes(policy=SMTP)


def _drafts(runtime: Runtime) -> tuple[list[DraftRow], list[DraftRow]]:
    """(drafts to keep stored, tombstones of sent or deleted drafts whose copy must go)."""
    query = select(D.id, D.company_id, D.account_id, D.updated_at, D.deleted_at).where(
        D.account_id.is_not(None)
    )
    with runtime.platform() as session:
        rows = session.connection().execute(query).all()
    live = [DraftRow(*row[:4]) for row in rows if row.deleted_at is None]
    return live, [DraftRow(*row[:4]) for row in rows if row.deleted_at is not None]


def _forget(runtime: Runtime, company_id: int, draft_ids: list[int]) -> None:
    """Drop tombstones whose IMAP copies are gone (or that never had an IMAP account)."""
    with runtime.tenant(company_id) as session:
        session.connection().execute(
            delete(DRAFTS).where(
                D.company_id == company_id, D.id.in_(draft_ids), D.deleted_at.is_not(None)
            )
        )


def _content(runtime: Runtime, draft: DraftRow) -> dict[str, Any] | None:
    with runtime.tenant(draft.company_id) as session:
        query = select(D.content).where(
            D.id == draft.id, D.company_id == draft.company_id, D.updated_at == draft.updated_at
        )
        found = session.connection().execute(query).scalar()
    return found if isinstance(found, dict) else None


def _remember(runtime: Runtime, draft: DraftRow, folder: str, uid: int | None) -> None:
    """Where the copy is; only if the draft is still that version, and without making it look
    changed (updated_at stays the saved time)."""
    with runtime.tenant(draft.company_id) as session:
        session.connection().execute(
            update(DRAFTS)
            .where(
                D.id == draft.id,
                D.company_id == draft.company_id,
                D.updated_at == draft.updated_at,
            )
            .values(imap_folder=folder, imap_uid=uid, updated_at=draft.updated_at)
        )


async def store_drafts(runtime: Runtime, stored: StoredDrafts) -> int:
    """Store every draft whose current version is not on its IMAP server yet, and remove the
    copies of drafts that were sent or deleted. Returns how many were stored."""
    rows, tombstones = await asyncio.to_thread(_drafts, runtime)
    work: dict[tuple[int, int], tuple[list[DraftRow], list[int]]] = defaultdict(lambda: ([], []))
    for row in rows:
        if stored.known.get((row.company_id, row.id)) != (row.account_id, row.updated_at):
            work[(row.company_id, row.account_id)][0].append(row)
    for row in tombstones:
        work[(row.company_id, row.account_id)][1].append(row.id)
        stored.known.pop((row.company_id, row.id), None)
    count = 0
    for (company_id, account_id), (changed, gone) in work.items():
        count += await _store_account(runtime, stored, company_id, account_id, changed, gone)
    return count


async def _store_account(
    runtime: Runtime,
    stored: StoredDrafts,
    company_id: int,
    account_id: int,
    changed: list[DraftRow],
    gone: list[int],
) -> int:
    account = await asyncio.to_thread(read_imap_account, runtime, company_id, account_id)
    if account is None:  # no IMAP: drafts stay in Postroom only
        stored.known |= {(d.company_id, d.id): (account_id, d.updated_at) for d in changed}
        if gone:
            await asyncio.to_thread(_forget, runtime, company_id, gone)
        return 0
    count = 0
    try:
        session = await login(runtime, account)
        try:
            folder = account.drafts_folder or imap_client.find_drafts_folder(
                await imap_client.list_mailboxes(session)
            )
            if folder is None:
                log.warning("no drafts folder", extra={"account_id": account_id})
                if gone:  # nothing can be on the server: the tombstones have done their job
                    await asyncio.to_thread(_forget, runtime, company_id, gone)
                return 0
            await imap_client.select(session, folder)
            for draft_id in gone:
                await _remove(session, draft_token(company_id, draft_id))
            if gone:
                await asyncio.to_thread(_forget, runtime, company_id, gone)
            for draft in changed:
                count += await _store_one(runtime, session, account, folder, draft)
                stored.known[(company_id, draft.id)] = (account_id, draft.updated_at)
        finally:
            await logout(session)
    except (MailError, OSError, TimeoutError) as exc:
        log.warning("storing drafts failed", extra={"account_id": account_id, "error": str(exc)})
        await record_imap_failure(runtime, account, exc)
    return count


async def _store_one(
    runtime: Runtime, session: ImapSession, account: ImapAccount, folder: str, draft: DraftRow
) -> int:
    if await imap_client.search_header(session, DRAFT_HEADER, draft.version):
        return 0  # this version is there already (stored before a restart)
    content = await asyncio.to_thread(_content, runtime, draft)
    if content is None:  # changed or deleted meanwhile: the next run takes the new version
        return 0
    earlier = await imap_client.search_header(session, DRAFT_HEADER, f"{draft.token};")
    mime = draft_mime(content, account.target.address, draft.version, utcnow())
    appended = await imap_client.append(session, folder, mime, flags=DRAFT_FLAGS)
    # The earlier copies are found by the draft's token, not by a remembered UID: a UID means
    # something only with its UIDVALIDITY (RFC 3501 §2.3.1.1), which is not kept.
    await imap_client.delete_uids(session, earlier)
    await asyncio.to_thread(_remember, runtime, draft, folder, appended.uid)
    return 1


async def _remove(session: ImapSession, token: str) -> None:
    """Delete the copies of a draft that was sent or deleted in Postroom."""
    await imap_client.delete_uids(
        session, await imap_client.search_header(session, DRAFT_HEADER, f"{token};")
    )
