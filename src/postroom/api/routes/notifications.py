"""The caller's in-app notifications (A7: new mail in the accounts they may see)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas_crm import NotificationPage, NotificationPublic, ReadAllResult
from postroom.services import notifications

router = APIRouter(tags=["notifications"])


@router.get("/notifications", response_model=NotificationPage)
def list_notifications(
    caller: CallerDep,
    unread: Annotated[
        bool | None, Query(description="true: only unread; false: only read; omitted: all.")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> NotificationPage:
    with caller.begin() as tx:
        rows, total, unread_count = notifications.list_notifications(
            tx.session, actor=tx.actor, unread=unread, limit=limit, offset=offset
        )
        return NotificationPage(
            items=[NotificationPublic.model_validate(row) for row in rows],
            total=total,
            limit=limit,
            offset=offset,
            unread=unread_count,
        )


@router.post("/notifications/read-all", response_model=ReadAllResult)
def read_all(caller: CallerDep) -> ReadAllResult:
    with caller.begin() as tx:
        return ReadAllResult(marked=notifications.mark_all_read(tx.session, actor=tx.actor))


@router.post("/notifications/{notification_id}/read", response_model=NotificationPublic)
def read_one(notification_id: int, caller: CallerDep) -> NotificationPublic:
    with caller.begin() as tx:
        row = notifications.mark_read(tx.session, actor=tx.actor, notification_id=notification_id)
        return NotificationPublic.model_validate(row)
