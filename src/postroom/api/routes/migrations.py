"""Mailbox migrations (D4): upload an old account's mail to a folder of a new IMAP account."""

from __future__ import annotations

from fastapi import APIRouter, status

from postroom.api.deps import CallerDep
from postroom.api.schemas_mailbox import MigrationPublic
from postroom.services import migration
from postroom.services.mailbox_schemas import MigrationCreate

router = APIRouter(tags=["migrations"])


@router.post(
    "/migrations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MigrationPublic,
    responses={409: {"description": "`migration_running` between the same accounts."}},
)
def create_migration(body: MigrationCreate, caller: CallerDep) -> MigrationPublic:
    """Queue the upload; the worker runs it (GET shows the progress)."""
    with caller.begin() as tx:
        created = migration.create_migration(tx.session, actor=tx.actor, data=body)
        view = migration.get_migration(tx.session, actor=tx.actor, migration_id=created.id)
        return MigrationPublic.of(view)


@router.get("/migrations/{migration_id}", response_model=MigrationPublic)
def get_migration(migration_id: int, caller: CallerDep) -> MigrationPublic:
    """Progress: copied, skipped (already there), failed (with the server's words), pending."""
    with caller.begin() as tx:
        view = migration.get_migration(tx.session, actor=tx.actor, migration_id=migration_id)
        return MigrationPublic.of(view)


@router.post("/migrations/{migration_id}/cancel", response_model=MigrationPublic)
def cancel_migration(migration_id: int, caller: CallerDep) -> MigrationPublic:
    """Stop before the next message; what was uploaded stays."""
    with caller.begin() as tx:
        view = migration.cancel_migration(tx.session, actor=tx.actor, migration_id=migration_id)
        return MigrationPublic.of(view)
