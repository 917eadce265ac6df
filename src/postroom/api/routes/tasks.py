"""Tasks, e.g. one per incoming message of an account that makes them (A7, D5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import Page
from postroom.api.schemas_crm import TaskPublic, TaskUpdate
from postroom.enums import TaskStatus
from postroom.services import tasks

router = APIRouter(tags=["tasks"])


@router.get("/tasks", response_model=Page[TaskPublic])
def list_tasks(
    caller: CallerDep,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = None,
    assignee_user_id: int | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[TaskPublic]:
    with caller.begin() as tx:
        rows, total = tasks.list_tasks(
            tx.session,
            actor=tx.actor,
            status=status_,
            assignee_user_id=assignee_user_id,
            limit=limit,
            offset=offset,
        )
        items = [TaskPublic.model_validate(row) for row in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/tasks/{task_id}", response_model=TaskPublic)
def get_task(task_id: int, caller: CallerDep) -> TaskPublic:
    with caller.begin() as tx:
        return TaskPublic.model_validate(
            tasks.get_task(tx.session, actor=tx.actor, task_id=task_id)
        )


@router.patch("/tasks/{task_id}", response_model=TaskPublic)
def update_task(task_id: int, body: TaskUpdate, caller: CallerDep) -> TaskPublic:
    with caller.begin() as tx:
        task = tasks.update_task(
            tx.session,
            actor=tx.actor,
            task_id=task_id,
            changes=body.model_dump(exclude_unset=True),
        )
        return TaskPublic.model_validate(task)


@router.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_task(task_id: int, caller: CallerDep) -> Response:
    with caller.begin() as tx:
        tasks.delete_task(tx.session, actor=tx.actor, task_id=task_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
