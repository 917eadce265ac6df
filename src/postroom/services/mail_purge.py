"""Purging from Deleted Items (D3): only with the "permanently delete mail" permission.

When the account says so (A7), the server copy goes first (IMAP: \\Deleted + UID EXPUNGE;
POP3: DELE); otherwise it stays on the server. Here the row, its search text and its raw
bytes are removed. A POP3 message's UIDL stays in pop3_seen_uidls, so it is never
downloaded again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from postroom.db.models import Account, User
from postroom.db.models_mailbox import MailMessage, MailPurged, MailText, Pop3SeenUidl
from postroom.enums import AuthMethod, FolderRole, IncomingProtocol, Role
from postroom.errors import ConflictError, PermissionDeniedError, PostroomError
from postroom.mail import imap_ops, pop3_ops, pop3_probe
from postroom.mail.imap_probe import ImapSession, MailboxTarget
from postroom.services.account_setup import Begin
from postroom.services.account_test import probe_options
from postroom.services.imap_access import IMAP_TIMEOUT_SECONDS, ImapAccount
from postroom.services.mailbox_access import folders_of, still_there, usable_messages
from postroom.services.mailbox_server import (
    NETWORK_ERRORS,
    imap_account_of,
    imap_session,
    incoming_target_of,
    server_error,
)
from postroom.services.oauth_tokens import xoauth2_credentials
from postroom.services.runtime import Runtime
from postroom.storage.mailstore import mail_store_for

log = logging.getLogger("postroom.mailbox")
NAMES_SHOWN = 10


@dataclass(frozen=True)
class PurgeResult:
    purged: int
    deleted_on_server: int


@dataclass
class _ImapPurge:
    imap: ImapAccount
    # Deleted Items' path -> (UIDVALIDITY stored, message id -> UID)
    folders: dict[str, tuple[int | None, dict[int, int]]] = field(default_factory=dict)


@dataclass
class _Pop3Purge:
    company_id: int
    account_id: int
    target: MailboxTarget
    uidls: dict[int, str] = field(default_factory=dict)  # message id -> UIDL


@dataclass
class _Plan:
    imap: dict[int, _ImapPurge] = field(default_factory=dict)
    pop3: dict[int, _Pop3Purge] = field(default_factory=dict)

    def server_ids(self) -> set[int]:
        found = {i for p in self.imap.values() for _, uids in p.folders.values() for i in uids}
        return found | {i for p in self.pop3.values() for i in p.uidls}


@dataclass
class _Outcome:
    deleted: set[int] = field(default_factory=set)  # message ids gone from the server
    errors: list[PostroomError] = field(default_factory=list)


def purgers(session: Session) -> list[User]:
    """Who may purge: active administrators and users with the permission (D3)."""
    return list(
        session.scalars(
            select(User)
            .where(User.active.is_(True), or_(User.role == Role.ADMIN, User.can_purge_mail))
            .order_by(User.name, User.email)
        )
    )


def require_purge_right(session: Session, actor: User) -> None:
    if actor.is_admin or actor.can_purge_mail:
        return
    people = purgers(session)
    names = ", ".join(f"{u.name} <{u.email}>" if u.name else u.email for u in people[:NAMES_SHOWN])
    if len(people) > NAMES_SHOWN:
        names += f" and {len(people) - NAMES_SHOWN} more"
    raise PermissionDeniedError(
        "Purging mail from Deleted Items needs the “permanently delete mail” permission, "
        f"which you do not have. It can be done by the company administrators and by users "
        f"with that permission: {names}. An administrator can also give you the permission.",
        code="purge_not_allowed",
    )


def purge_messages(begin: Begin, runtime: Runtime, *, ids: Sequence[int]) -> PurgeResult:
    with begin() as tx:
        plan = _plan(tx.session, tx.actor, runtime, ids)
    outcome = _Outcome()
    if plan.imap or plan.pop3:
        asyncio.run(_delete_on_servers(runtime, plan, outcome))
    waiting = plan.server_ids() - outcome.deleted  # their server part failed: they stay
    with begin() as tx:
        keys = _remove(tx.session, tx.actor, ids, plan, waiting)
        purged = len(set(ids)) - len(waiting)
    store = mail_store_for(runtime.settings.data_dir)
    for key in keys:  # after the commit: a failed commit leaves files, never missing ones
        store.delete(key)
    if outcome.errors:
        raise outcome.errors[0]
    return PurgeResult(purged=purged, deleted_on_server=len(outcome.deleted))


def _plan(session: Session, actor: User, runtime: Runtime, ids: Sequence[int]) -> _Plan:
    messages, by_account = usable_messages(session, actor, ids)  # 404 before 403
    require_purge_right(session, actor)
    folders = folders_of(session, set(by_account))
    plan = _Plan()
    for message in messages:
        folder = folders[message.folder_id]
        if folder.role is not FolderRole.TRASH:
            raise ConflictError(
                f"Message {message.id} is not in Deleted Items; delete it first, then purge it.",
                code="not_in_deleted_items",
            )
        account = by_account[message.account_id]
        if not account.delete_on_server_when_purged:
            continue  # the server copy stays (A7)
        imap = imap_account_of(account, runtime.secret_box)
        if imap is not None and not folder.is_local and message.uid is not None:
            purge = plan.imap.setdefault(account.id, _ImapPurge(imap))
            entry = purge.folders.setdefault(folder.path, (message.uidvalidity, {}))
            entry[1][message.id] = message.uid
        elif account.incoming_protocol is IncomingProtocol.POP3 and message.pop_uidl:
            _add_pop3(session, plan, account, message, runtime)
    return plan


def _add_pop3(
    session: Session, plan: _Plan, account: Account, message: MailMessage, runtime: Runtime
) -> None:
    gone = session.scalar(
        select(Pop3SeenUidl.deleted_on_server).where(
            Pop3SeenUidl.account_id == account.id, Pop3SeenUidl.uidl == message.pop_uidl
        )
    )
    target = incoming_target_of(account, runtime.secret_box)
    if gone or target is None or message.pop_uidl is None:
        return  # deleted after download already ("leave copies on the server" off)
    purge = plan.pop3.setdefault(account.id, _Pop3Purge(account.company_id, account.id, target))
    purge.uidls[message.id] = message.pop_uidl


async def _delete_on_servers(runtime: Runtime, plan: _Plan, outcome: _Outcome) -> None:
    for imap_purge in plan.imap.values():
        try:
            doing = "delete the messages on the server"
            async with imap_session(runtime, imap_purge.imap, doing) as session:
                await _expunge(session, imap_purge, outcome)
        except PostroomError as exc:
            outcome.errors.append(exc)
    for pop3_purge in plan.pop3.values():
        try:
            await _dele(runtime, pop3_purge, outcome)
        except PostroomError as exc:
            outcome.errors.append(exc)


async def _expunge(session: ImapSession, purge: _ImapPurge, outcome: _Outcome) -> None:
    for path, (uidvalidity, uids) in purge.folders.items():
        selected = await imap_ops.open_mailbox(session, path)
        if uidvalidity not in (None, selected.uidvalidity):
            # Stored UIDs of before a UIDVALIDITY change may now name other messages.
            outcome.errors.append(
                ConflictError(
                    f"“{path}” changed on the mail server since the last fetch; fetch mail, "
                    "then purge again.",
                    code="folder_changed_on_server",
                )
            )
            continue
        await imap_ops.expunge_uids(session, list(uids.values()))
        outcome.deleted.update(uids)


async def _dele(runtime: Runtime, purge: _Pop3Purge, outcome: _Outcome) -> None:
    target = purge.target
    doing = "delete the messages on the POP3 server"
    try:
        if target.credentials.method is AuthMethod.OAUTH2:
            credentials = await xoauth2_credentials(
                runtime, company_id=purge.company_id, account_id=purge.account_id, incoming=True
            )
            target = dataclasses.replace(target, credentials=credentials)
        options = dataclasses.replace(
            probe_options(runtime.settings), timeout_seconds=IMAP_TIMEOUT_SECONDS
        )
        async with asyncio.timeout(IMAP_TIMEOUT_SECONDS):
            session = await pop3_ops.open_pop3(target, options)
            try:
                result = await pop3_ops.delete_by_uidl(session, purge.uidls.values())
            finally:
                await pop3_probe.close_session(session)
    except NETWORK_ERRORS as exc:
        log.warning("POP3 purge failed", extra={"account_id": purge.account_id, "error": str(exc)})
        raise server_error(exc, doing) from exc
    gone = result.deleted | result.absent
    outcome.deleted.update(i for i, uidl in purge.uidls.items() if uidl in gone)


def _remove(
    session: Session, actor: User, ids: Sequence[int], plan: _Plan, waiting: set[int]
) -> list[str]:
    """Delete the rows (not those whose server copy could not be deleted); their blob keys."""
    left = [i for i in still_there(session, ids) if i not in waiting]
    doomed, _ = usable_messages(session, actor, left)
    dele_done = {i for p in plan.pop3.values() for i in p.uidls if i not in waiting}
    on_servers = plan.server_ids()
    for message in doomed:
        if message.pop_uidl is not None:
            _remember_uidl(session, message, deleted_on_server=message.id in dele_done)
        elif message.uid is not None and message.id not in on_servers:
            _remember_kept_copy(session, message)
    keys = [m.blob_key for m in doomed]
    session.execute(delete(MailText).where(MailText.message_id.in_([m.id for m in doomed])))
    for message in doomed:
        session.delete(message)
    session.flush()
    # Keys are random per stored copy, but a re-keyed row (UIDVALIDITY change) may share one.
    still_used = set(
        session.scalars(select(MailMessage.blob_key).where(MailMessage.blob_key.in_(keys)))
    )
    return [key for key in keys if key not in still_used]


def _remember_kept_copy(session: Session, message: MailMessage) -> None:
    """The server keeps its copy: a tombstone keeps the sync from fetching it again."""
    session.add(
        MailPurged(
            account_id=message.account_id,
            folder_id=message.folder_id,
            uidvalidity=message.uidvalidity,
            uid=message.uid,
            message_id_header=message.message_id_header,
            content_sha256=message.content_sha256,
        )
    )


def _remember_uidl(session: Session, message: MailMessage, *, deleted_on_server: bool) -> None:
    """The UIDL stays known after the purge, so the next fetch never brings the message back."""
    seen = session.scalar(
        select(Pop3SeenUidl).where(
            Pop3SeenUidl.account_id == message.account_id, Pop3SeenUidl.uidl == message.pop_uidl
        )
    )
    if seen is None:
        assert message.pop_uidl is not None
        seen = Pop3SeenUidl(account_id=message.account_id, uidl=message.pop_uidl)
        session.add(seen)
    if deleted_on_server:
        seen.deleted_on_server = True
