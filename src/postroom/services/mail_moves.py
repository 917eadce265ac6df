"""Moving messages between folders of their account: on the IMAP server first, then here.

A moved message gets a new UID in its new folder (RFC 4315 COPYUID); its row takes that
identity, so the next fetch finds it stored instead of downloading it again. Where every
UID of the destination up to the new ones is stored, the folder's sync checkpoint moves up
too: otherwise a message moved to Deleted Items and purged there (its server copy kept)
would come back as new mail.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from postroom.db.models import Account, User
from postroom.db.models_mailbox import MailFolder, MailMessage, MailText
from postroom.enums import FolderRole
from postroom.errors import ConflictError, PostroomError
from postroom.mail import imap_client, imap_ops
from postroom.mail.imap_probe import ImapSession
from postroom.services.account_setup import Begin
from postroom.services.imap_access import ImapAccount
from postroom.services.mailbox_access import folders_of, still_there, usable_messages
from postroom.services.mailbox_server import imap_account_of, imap_session
from postroom.services.runtime import Runtime
from postroom.storage.mailstore import mail_store_for

log = logging.getLogger("postroom.mailbox")

# Picks a message's new folder among its account's folders; None leaves it where it is.
Chooser = Callable[[MailMessage, Account, dict[int, MailFolder]], MailFolder | None]


@dataclass(frozen=True)
class Destination:
    folder_id: int
    path: str
    uidvalidity: int | None
    synced_uid: int


@dataclass(frozen=True)
class MoveItem:
    message_id: int
    source_path: str
    uid: int
    uidvalidity: int | None
    message_id_header: str | None
    destination: Destination


@dataclass
class AccountMoves:
    imap: ImapAccount
    items: list[MoveItem] = field(default_factory=list)


@dataclass(frozen=True)
class Checkpoint:
    folder_id: int
    uidvalidity: int
    old_uidvalidity: int | None
    old_synced_uid: int
    synced_uid: int


@dataclass
class MovePlan:
    targets: dict[int, int]  # message id -> folder id, every message that moves
    on_server: dict[int, AccountMoves]  # account id -> the moves its IMAP server makes first


@dataclass
class MoveOutcome:
    moved: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    errors: list[PostroomError] = field(default_factory=list)


def move_messages(
    begin: Begin, runtime: Runtime, *, ids: Sequence[int], choose: Chooser
) -> list[MailMessage]:
    """Move each message to the folder `choose` picks; the rows as they are afterwards.

    Messages whose server move failed stay where they were; the first error is raised after
    the others are saved.
    """
    with begin() as tx:
        plan = _plan(tx.session, tx.actor, runtime, ids, choose)
    outcome = MoveOutcome()
    if plan.on_server:
        asyncio.run(_move_on_servers(runtime, plan, outcome))
    with begin() as tx:
        rows, stale_keys = _apply(tx.session, tx.actor, ids, plan, outcome)
    _delete_blobs(runtime, stale_keys)
    if outcome.errors:
        raise outcome.errors[0]
    return rows


def _plan(
    session: Session, actor: User, runtime: Runtime, ids: Sequence[int], choose: Chooser
) -> MovePlan:
    messages, by_account = usable_messages(session, actor, ids)
    folders = folders_of(session, set(by_account))
    plan = MovePlan(targets={}, on_server={})
    for message in messages:
        account = by_account[message.account_id]
        target = choose(message, account, folders)
        if target is None or target.id == message.folder_id:
            continue
        source = folders[message.folder_id]
        plan.targets[message.id] = target.id
        imap = imap_account_of(account, runtime.secret_box)
        if imap is None or (source.is_local and target.is_local):
            continue  # a local move only
        if source.is_local or target.is_local:
            raise ConflictError(
                f"“{source.path if source.is_local else target.path}” exists only in Postroom, "
                "not on the mail server: messages cannot move between it and server folders.",
                code="folder_not_on_server",
            )
        if message.uid is None:
            continue  # never seen on the server under a UID: nothing there to move
        moves = plan.on_server.setdefault(account.id, AccountMoves(imap))
        destination = Destination(target.id, target.path, target.uidvalidity, target.synced_uid)
        moves.items.append(
            MoveItem(
                message.id,
                source.path,
                message.uid,
                message.uidvalidity,
                message.message_id_header,
                destination,
            )
        )
    return plan


async def _move_on_servers(runtime: Runtime, plan: MovePlan, outcome: MoveOutcome) -> None:
    for moves in plan.on_server.values():
        try:
            async with imap_session(runtime, moves.imap, "move the messages") as session:
                await _move_for_account(session, moves, outcome)
        except PostroomError as exc:
            outcome.errors.append(exc)


def _grouped(items: list[MoveItem], key: Callable[[MoveItem], str]) -> dict[str, list[MoveItem]]:
    groups: dict[str, list[MoveItem]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return groups


async def _move_for_account(
    session: ImapSession, moves: AccountMoves, outcome: MoveOutcome
) -> None:
    for source, items in _grouped(moves.items, lambda i: i.source_path).items():
        selected = await imap_ops.open_mailbox(session, source)
        current = [i for i in items if i.uidvalidity in (None, selected.uidvalidity)]
        if len(current) < len(items):  # UIDs of before a UIDVALIDITY change (RFC 3501 §2.3.1.1)
            outcome.errors.append(_changed_on_server(source))
        for target, group in _grouped(current, lambda i: i.destination.path).items():
            copied = await imap_ops.move_uids(session, [i.uid for i in group], target)
            for item in group:
                outcome.moved[item.message_id] = (copied.uidvalidity, copied.uids.get(item.uid))
    await _find_unreported(session, moves, outcome)
    await _checkpoints(session, moves, outcome)


def _changed_on_server(path: str) -> ConflictError:
    return ConflictError(
        f"“{path}” changed on the mail server since the last fetch; fetch mail, then try again.",
        code="folder_changed_on_server",
    )


async def _find_unreported(session: ImapSession, moves: AccountMoves, outcome: MoveOutcome) -> None:
    """Without UIDPLUS the server does not say the new UIDs: look them up by Message-ID."""
    missing = [
        i
        for i in moves.items
        if i.message_id in outcome.moved and outcome.moved[i.message_id][1] is None
    ]
    for target, items in _grouped(missing, lambda i: i.destination.path).items():
        selected = await imap_ops.open_mailbox(session, target)
        for item in items:
            found = []
            if item.message_id_header:
                found = await imap_client.search_header(
                    session, "Message-ID", f"<{item.message_id_header}>"
                )
            outcome.moved[item.message_id] = (selected.uidvalidity, max(found, default=None))


async def _checkpoints(session: ImapSession, moves: AccountMoves, outcome: MoveOutcome) -> None:
    """Raise a destination's synced_uid over the moved-in UIDs where nothing in between is
    unsynced: every UID up to the new checkpoint is then stored (models_mailbox.py)."""
    moved_to: dict[int, set[int]] = defaultdict(set)
    validity: dict[int, int] = {}
    destinations: dict[int, Destination] = {}
    for item in moves.items:
        uidvalidity, uid = outcome.moved.get(item.message_id, (None, None))
        if uid is None or uidvalidity is None:
            continue
        destination = item.destination
        if destination.uidvalidity not in (None, uidvalidity):
            continue
        moved_to[destination.folder_id].add(uid)
        validity[destination.folder_id] = uidvalidity
        destinations[destination.folder_id] = destination
    for folder_id, uids in moved_to.items():
        destination = destinations[folder_id]
        if max(uids) <= destination.synced_uid:
            continue
        await imap_client.select(session, destination.path, readonly=True)
        between = await imap_ops.uids_between(session, destination.synced_uid + 1, max(uids))
        if set(between) <= uids:
            outcome.checkpoints.append(
                Checkpoint(
                    folder_id,
                    validity[folder_id],
                    destination.uidvalidity,
                    destination.synced_uid,
                    max(uids),
                )
            )


def _apply(
    session: Session, actor: User, ids: Sequence[int], plan: MovePlan, outcome: MoveOutcome
) -> tuple[list[MailMessage], list[str]]:
    messages, by_account = usable_messages(session, actor, still_there(session, ids))
    folders = folders_of(session, set(by_account))
    server_items = {i.message_id for m in plan.on_server.values() for i in m.items}
    stale_keys: list[str] = []
    for message in messages:
        target_id = plan.targets.get(message.id)
        if target_id is None or target_id not in folders or message.folder_id == target_id:
            continue
        if message.id in server_items:
            if message.id not in outcome.moved:
                continue  # its server move failed: it stays
            uidvalidity, uid = outcome.moved[message.id]
            stale_keys += _evict(session, message, target_id, uidvalidity, uid)
            message.uidvalidity, message.uid = uidvalidity, uid
        _set_folder(message, folders[message.folder_id], folders[target_id])
    for checkpoint in outcome.checkpoints:
        _advance(session, checkpoint)
    session.flush()
    return messages, stale_keys


def _set_folder(message: MailMessage, source: MailFolder, target: MailFolder) -> None:
    """Into Deleted Items it remembers where it came from (to restore it); out of it, forgets."""
    if target.role is FolderRole.TRASH:
        if source.role is not FolderRole.TRASH:
            message.deleted_from_folder_id = source.id
    else:
        message.deleted_from_folder_id = None
    message.folder_id = target.id


def _evict(
    session: Session, message: MailMessage, folder_id: int, uidvalidity: int | None, uid: int | None
) -> list[str]:
    """A fetch that ran during the move may have stored the moved copy as a new message:
    this row is the same message, so that one goes (its blob after the commit)."""
    if uid is None or uidvalidity is None:
        return []
    twins = list(
        session.scalars(
            select(MailMessage).where(
                MailMessage.folder_id == folder_id,
                MailMessage.uidvalidity == uidvalidity,
                MailMessage.uid == uid,
                MailMessage.id != message.id,
            )
        )
    )
    for twin in twins:
        session.execute(delete(MailText).where(MailText.message_id == twin.id))
        session.delete(twin)
    session.flush()
    return [twin.blob_key for twin in twins]


def _advance(session: Session, checkpoint: Checkpoint) -> None:
    """Compare-and-set: a fetch that moved the checkpoint meanwhile wins."""
    old_validity = MailFolder.uidvalidity
    session.execute(
        update(MailFolder)
        .where(
            MailFolder.id == checkpoint.folder_id,
            MailFolder.synced_uid == checkpoint.old_synced_uid,
            old_validity.is_(None)
            if checkpoint.old_uidvalidity is None
            else old_validity == checkpoint.old_uidvalidity,
        )
        .values(uidvalidity=checkpoint.uidvalidity, synced_uid=checkpoint.synced_uid)
        .execution_options(synchronize_session=False)
    )


def _delete_blobs(runtime: Runtime, keys: list[str]) -> None:
    store = mail_store_for(runtime.settings.data_dir)
    for key in keys:
        store.delete(key)
