"""Moving mail to a new account (D4): chosen local messages of one account are uploaded to a
folder of an IMAP account with their original bytes and dates.

Creating a migration writes the job and one item per message (its checkpoint); the worker
runs it (services/migration_runner.py), resumable after a crash from the items' statuses.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, insert, literal, select
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import Account, User
from postroom.db.models_mailbox import MailFolder, MailMessage, MailMigration, MailMigrationItem
from postroom.enums import FolderRole, JobStatus, MigrationItemStatus
from postroom.errors import ConflictError, NotFoundError, ValidationError
from postroom.services import access
from postroom.services.mailbox_schemas import MigrationCreate
from postroom.services.provider_rules import has_imap
from postroom.services.runtime import Runtime

FAILURES_SHOWN = 20
OPEN = (JobStatus.PENDING, JobStatus.RUNNING)


@dataclass(frozen=True)
class MigrationView:
    migration: MailMigration
    pending: int
    failures: list[tuple[int, str]]  # (message id, the server's words)


def _account_field(session: Session, actor: User, account_id: int, field: str) -> Account:
    account = session.get(Account, account_id)
    groups = access.group_ids_of(session, actor)
    if account is None or not access.can_see(actor, account, groups):
        raise ValidationError.for_field(field, f"Account {account_id} does not exist.", "not_found")
    if not access.can_use(actor, account, groups):
        raise ValidationError.for_field(
            field, f"You may not use {account.email_address}; ask an administrator.", "forbidden"
        )
    return account


def _check_accounts(session: Session, actor: User, data: MigrationCreate) -> Account:
    source = _account_field(session, actor, data.source_account_id, "source_account_id")
    target = _account_field(session, actor, data.target_account_id, "target_account_id")
    if source.id == target.id:
        raise ValidationError.for_field(
            "target_account_id", "The target must be another account than the source."
        )
    if not has_imap(target):
        raise ValidationError.for_field(
            "target_account_id",
            f"{target.email_address} has no IMAP server to upload to; choose an IMAP account.",
        )
    if data.deactivate_source and not access.can_edit(actor, source):
        raise ValidationError.for_field(
            "deactivate_source",
            "Only an administrator or the account's owner may make it inactive; "
            "set deactivate_source to false.",
            "forbidden",
        )
    return source


def _selection(
    session: Session, source: Account, data: MigrationCreate
) -> tuple[str, ColumnElement[bool]]:
    """The field that chose the messages, and the condition selecting them."""
    chosen = [data.message_ids is not None, data.folder_ids is not None, data.all]
    if sum(chosen) != 1:
        raise ValidationError.for_field(
            "message_ids", "Choose the messages with exactly one of message_ids, folder_ids, all."
        )
    if data.message_ids is not None:
        wanted = set(data.message_ids)
        found = set(
            session.scalars(
                select(MailMessage.id).where(
                    MailMessage.id.in_(wanted), MailMessage.account_id == source.id
                )
            )
        )
        if missing := sorted(wanted - found)[:10]:
            raise ValidationError.for_field(
                "message_ids", f"Not messages of the source account: {missing}.", "not_found"
            )
        return "message_ids", MailMessage.id.in_(wanted)
    if data.folder_ids is not None:
        wanted = set(data.folder_ids)
        found = set(
            session.scalars(
                select(MailFolder.id).where(
                    MailFolder.id.in_(wanted), MailFolder.account_id == source.id
                )
            )
        )
        if missing := sorted(wanted - found)[:10]:
            raise ValidationError.for_field(
                "folder_ids", f"Not folders of the source account: {missing}.", "not_found"
            )
        return "folder_ids", MailMessage.folder_id.in_(wanted)
    trash = select(MailFolder.id).where(
        MailFolder.account_id == source.id, MailFolder.role == FolderRole.TRASH
    )
    return "all", MailMessage.folder_id.not_in(trash)


def create_migration(session: Session, *, actor: User, data: MigrationCreate) -> MailMigration:
    """The job and its items, pending; one open migration per source and target pair."""
    source = _check_accounts(session, actor, data)
    field, condition = _selection(session, source, data)
    running = session.scalar(
        select(MailMigration.id).where(
            MailMigration.source_account_id == source.id,
            MailMigration.target_account_id == data.target_account_id,
            MailMigration.status.in_(OPEN),
        )
    )
    if running is not None:
        raise ConflictError(
            f"Migration {running} between these accounts is not finished yet; wait for it or "
            "cancel it.",
            code="migration_running",
        )
    migration = MailMigration(
        source_account_id=source.id,
        target_account_id=data.target_account_id,
        target_folder=data.target_folder,
        deactivate_source=data.deactivate_source,
        created_by_user_id=actor.id,
    )
    session.add(migration)
    session.flush()
    chosen = (
        select(
            literal(actor.company_id),
            literal(migration.id),
            MailMessage.id,
            literal(MigrationItemStatus.PENDING.value),
        )
        .where(MailMessage.account_id == source.id, MailMessage.company_id == actor.company_id)
        .where(condition)
        .order_by(MailMessage.sort_date, MailMessage.id)
    )
    columns = ["company_id", "migration_id", "mail_message_id", "status"]
    session.execute(insert(MailMigrationItem).from_select(columns, chosen))
    migration.total = _count(session, migration.id)
    if migration.total == 0:
        raise ValidationError.for_field(field, "No messages were chosen: there is nothing to move.")
    session.flush()
    return migration


def _count(session: Session, migration_id: int, *statuses: MigrationItemStatus) -> int:
    query = select(func.count()).where(MailMigrationItem.migration_id == migration_id)
    if statuses:
        query = query.where(MailMigrationItem.status.in_(statuses))
    return int(session.scalar(query) or 0)


def _visible(session: Session, actor: User, migration_id: int) -> MailMigration:
    """A migration the actor may see both accounts of; otherwise it does not exist for them."""
    migration = session.get(MailMigration, migration_id)
    if migration is not None:
        groups = access.group_ids_of(session, actor)
        ids = (migration.source_account_id, migration.target_account_id)
        found = [session.get(Account, i) for i in ids]
        if all(a is not None and access.can_see(actor, a, groups) for a in found):
            return migration
    raise NotFoundError(f"Migration {migration_id} does not exist.")


def get_migration(session: Session, *, actor: User, migration_id: int) -> MigrationView:
    migration = _visible(session, actor, migration_id)
    failures = session.execute(
        select(MailMigrationItem.mail_message_id, MailMigrationItem.error)
        .where(
            MailMigrationItem.migration_id == migration.id,
            MailMigrationItem.status == MigrationItemStatus.FAILED,
        )
        .order_by(MailMigrationItem.id)
        .limit(FAILURES_SHOWN)
    )
    return MigrationView(
        migration=migration,
        pending=_count(session, migration.id, MigrationItemStatus.PENDING),
        failures=[(message_id, error or "") for message_id, error in failures],
    )


def cancel_migration(session: Session, *, actor: User, migration_id: int) -> MigrationView:
    """Stops it before its next message; what was uploaded stays uploaded."""
    migration = _visible(session, actor, migration_id)
    if migration.status not in OPEN:
        raise ConflictError(
            f"Migration {migration_id} is {migration.status.value} already.",
            code="migration_finished",
        )
    migration.status = JobStatus.CANCELLED
    migration.finished_at = utcnow()
    migration.lease_owner = None
    migration.lease_expires_at = None
    session.flush()
    return get_migration(session, actor=actor, migration_id=migration_id)


@dataclass(frozen=True)
class MigrationProgress:
    """For the command line (an operator's view, across companies)."""

    status: JobStatus
    total: int
    copied: int
    skipped: int
    failed: int
    last_error: str | None

    @property
    def done(self) -> int:
        return self.copied + self.skipped + self.failed

    @property
    def open(self) -> bool:
        return self.status in OPEN


def read_progress(runtime: Runtime, migration_id: int) -> MigrationProgress:
    with runtime.platform() as session:
        m = session.get(MailMigration, migration_id)
        if m is None:
            raise NotFoundError(f"Migration {migration_id} does not exist.")
        return MigrationProgress(m.status, m.total, m.copied, m.skipped, m.failed, m.last_error)
