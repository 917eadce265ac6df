"""The database side of a mailbox migration run (D4): leases, items to do, outcomes, the end.

Each item's outcome is committed on its own, right after its APPEND (services/
migration_runner.py), so the items' statuses are the checkpoint a resumed run starts from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.db.models_mailbox import MailFolder, MailMessage, MailMigration, MailMigrationItem
from postroom.enums import FolderRole, JobStatus, MigrationItemStatus
from postroom.mail.imap_client import Appended
from postroom.services import history
from postroom.services.imap_access import ImapAccount
from postroom.services.mail_ingest import index_message, store_incoming
from postroom.services.mail_prepare import IncomingMessage
from postroom.services.mailbox_server import imap_account_of
from postroom.services.runtime import Runtime
from postroom.storage.mailstore import MailStore

LEASE = timedelta(minutes=2)
# After the target server could not be reached, the worker tries again this much later.
RETRY_AFTER = timedelta(minutes=1)
BATCH = 50
_FLAG_COLUMNS = (("seen", "\\Seen"), ("flagged", "\\Flagged"), ("answered", "\\Answered"))


@dataclass(frozen=True)
class Job:
    company_id: int
    migration_id: int
    target_account_id: int
    imap: ImapAccount | None
    folder: str


@dataclass(frozen=True)
class Work:
    item_id: int
    message_id: int
    message_id_header: str | None
    blob_key: str
    when: datetime
    flags: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    status: MigrationItemStatus
    error: str | None = None
    appended: Appended | None = None  # where the server put it (APPENDUID)
    raw: bytes | None = None


@dataclass(frozen=True)
class Target:
    """The target folder as the server lists it, and where uploaded copies are recorded."""

    folder: str
    delimiter: str | None
    store: MailStore


def company_of(runtime: Runtime, migration_id: int) -> int | None:
    with runtime.platform() as session:
        return session.scalar(
            select(MailMigration.company_id).where(MailMigration.id == migration_id)
        )


def due_migrations(runtime: Runtime, limit: int = 20) -> list[int]:
    """Open migrations no runner holds (never started, or its lease ran out)."""
    with runtime.platform() as session:
        return list(
            session.scalars(
                select(MailMigration.id)
                .where(
                    MailMigration.status.in_((JobStatus.PENDING, JobStatus.RUNNING)),
                    or_(
                        MailMigration.lease_expires_at.is_(None),
                        MailMigration.lease_expires_at < utcnow(),
                    ),
                )
                .order_by(MailMigration.id)
                .limit(limit)
            )
        )


def take_lease(runtime: Runtime, company_id: int, migration_id: int, worker_id: str) -> bool:
    now = utcnow()
    with runtime.tenant(company_id) as session:
        taken = session.execute(
            update(MailMigration)
            .where(
                MailMigration.id == migration_id,
                MailMigration.status.in_((JobStatus.PENDING, JobStatus.RUNNING)),
                or_(
                    MailMigration.lease_owner.is_(None),
                    MailMigration.lease_owner == worker_id,
                    MailMigration.lease_expires_at < now,
                ),
            )
            .values(lease_owner=worker_id, lease_expires_at=now + LEASE, status=JobStatus.RUNNING)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(taken, "rowcount", 0) == 1)


def release(runtime: Runtime, company_id: int, migration_id: int, worker_id: str) -> None:
    with runtime.tenant(company_id) as session:
        session.execute(
            update(MailMigration)
            .where(MailMigration.id == migration_id, MailMigration.lease_owner == worker_id)
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )


def load_job(runtime: Runtime, company_id: int, migration_id: int) -> Job:
    with runtime.tenant(company_id) as session:
        migration = session.get(MailMigration, migration_id)
        assert migration is not None
        target = session.get(Account, migration.target_account_id)
        imap = imap_account_of(target, runtime.secret_box) if target is not None else None
        return Job(
            company_id, migration_id, migration.target_account_id, imap, migration.target_folder
        )


def next_items(runtime: Runtime, job: Job) -> list[Work]:
    with runtime.tenant(job.company_id) as session:
        rows = session.execute(
            select(MailMigrationItem.id, MailMessage)
            .join(MailMessage, MailMessage.id == MailMigrationItem.mail_message_id)
            .where(
                MailMigrationItem.migration_id == job.migration_id,
                MailMigrationItem.status == MigrationItemStatus.PENDING,
            )
            .order_by(MailMigrationItem.id)
            .limit(BATCH)
        ).all()
        return [_work(item_id, message) for item_id, message in rows]


def _work(item_id: int, message: MailMessage) -> Work:
    flags = tuple(flag for column, flag in _FLAG_COLUMNS if getattr(message, column))
    return Work(
        item_id=item_id,
        message_id=message.id,
        message_id_header=message.message_id_header,
        blob_key=message.blob_key,
        when=message.internal_date or message.sent_date or message.stored_at,
        flags=flags,
    )


def record(
    runtime: Runtime, job: Job, worker_id: str, target: Target, work: Work, result: Result
) -> bool:
    """Save one item's outcome and renew the lease; False if the job was cancelled or taken
    over (then nothing is saved and the runner stops)."""
    counter = {
        MigrationItemStatus.COPIED: MailMigration.copied,
        MigrationItemStatus.SKIPPED: MailMigration.skipped,
        MigrationItemStatus.FAILED: MailMigration.failed,
    }[result.status]
    with runtime.tenant(job.company_id) as session:
        kept = session.execute(
            update(MailMigration)
            .where(
                MailMigration.id == job.migration_id,
                MailMigration.lease_owner == worker_id,
                MailMigration.status == JobStatus.RUNNING,
            )
            .values({counter: counter + 1, MailMigration.lease_expires_at: utcnow() + LEASE})
            .execution_options(synchronize_session=False)
        )
        if getattr(kept, "rowcount", 0) != 1:
            return False
        session.execute(
            update(MailMigrationItem)
            .where(MailMigrationItem.id == work.item_id)
            .values(status=result.status, error=result.error)
            .execution_options(synchronize_session=False)
        )
        _record_copy(session, job, target, work, result)
    return True


def _target_folder(session: Session, job: Job, target: Target) -> MailFolder:
    folder = session.scalar(
        select(MailFolder).where(
            MailFolder.account_id == job.target_account_id, MailFolder.path == target.folder
        )
    )
    if folder is None:
        inbox = target.folder.upper() == "INBOX"
        folder = MailFolder(
            account_id=job.target_account_id,
            path=target.folder,
            name=target.folder.rpartition(target.delimiter)[2]
            if target.delimiter
            else target.folder,
            delimiter=target.delimiter,
            role=FolderRole.INBOX if inbox else FolderRole.OTHER,
        )
        session.add(folder)
        session.flush()
    return folder


def _record_copy(session: Session, job: Job, target: Target, work: Work, result: Result) -> None:
    """The uploaded copy is now mail of the target account: recorded under its new UID
    (RFC 4315 APPENDUID) as history, so the target's next fetch knows it, and never takes
    old mail for new (no autoresponder, tasks or notifications for it)."""
    appended, raw = result.appended, result.raw
    if appended is None or appended.uid is None or appended.uidvalidity is None or raw is None:
        return  # no APPENDUID: the next fetch brings it (as history on a first import)
    account = session.get(Account, job.target_account_id)
    if account is None:
        return
    folder = _target_folder(session, job, target)
    if folder.uidvalidity not in (None, appended.uidvalidity):
        return  # the folder changed on the server: its next fetch resyncs it
    known = session.scalar(
        select(MailMessage.id).where(
            MailMessage.folder_id == folder.id,
            MailMessage.uidvalidity == appended.uidvalidity,
            MailMessage.uid == appended.uid,
        )
    )
    if known is not None:
        return
    item = IncomingMessage(
        raw=raw,
        uid=appended.uid,
        uidvalidity=appended.uidvalidity,
        flags=frozenset(work.flags),
        internal_date=work.when,
    )
    for row in store_incoming(session, target.store, account, folder, [item], from_history=True):
        index_message(session, target.store, row)


def finish(runtime: Runtime, job: Job, worker_id: str) -> JobStatus:
    """Done; the source goes inactive (A7: kept as a readable archive) if asked and nothing
    failed, so a failed message can still be dealt with from an active account."""
    with runtime.tenant(job.company_id) as session:
        migration = session.get(MailMigration, job.migration_id)
        if migration is None or migration.lease_owner != worker_id:
            return JobStatus.CANCELLED
        migration.status = JobStatus.DONE
        migration.finished_at = utcnow()
        migration.lease_owner = None
        migration.lease_expires_at = None
        if migration.failed:
            migration.last_error = (
                f"{migration.failed} message(s) could not be uploaded; the source account "
                "was left active."
            )
        elif migration.deactivate_source:
            _deactivate(session, migration)
        return migration.status


def _deactivate(session: Session, migration: MailMigration) -> None:
    account = session.get(Account, migration.source_account_id)
    if account is None or not account.active:
        return
    before = history.snapshot(account)
    account.active = False
    history.record(
        session,
        account=account,
        actor=None,
        action="updated",
        changes=history.diff(before, history.snapshot(account)),
    )


def fail(runtime: Runtime, job: Job, worker_id: str, error: str, *, final: bool) -> None:
    """Note the error; a final one (the target refuses the login, has no IMAP) ends the job,
    others (the server unreachable) leave it for the next run."""
    with runtime.tenant(job.company_id) as session:
        migration = session.get(MailMigration, job.migration_id)
        if migration is None or migration.lease_owner != worker_id:
            return
        migration.last_error = error
        migration.lease_owner = None
        if final:
            migration.status = JobStatus.FAILED
            migration.finished_at = utcnow()
            migration.lease_expires_at = None
        else:  # not due for the worker before then (a direct run may still take it)
            migration.lease_expires_at = utcnow() + RETRY_AFTER
