"""Tasks: one per incoming message when the account says so (A7, D5), kept by the office.

Tasks are company-wide records, except that a task made from mail shows that mail's subject:
it is seen by those who may see the account the mail came to (E1, E2), its assignee, and
administrators.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import Account, User
from postroom.db.models_crm import Task
from postroom.db.models_mailbox import MailMessage
from postroom.enums import TaskStatus
from postroom.errors import NotFoundError, ValidationError
from postroom.services import access, webhooks

NO_SUBJECT = "(no subject)"
_TITLE_CHARS = 500


def task_payload(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "status": task.status.value,
        "account_id": task.account_id,
        "mail_message_id": task.mail_message_id,
        "contact_id": task.contact_id,
        "assignee_user_id": task.assignee_user_id,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "created_at": webhooks.iso(task.created_at),
        "completed_at": webhooks.iso(task.completed_at),
    }


def create_task_for_message(
    session: Session, *, message: MailMessage, contact_id: int | None
) -> Task | None:
    """The message's task, or None when it has one already (a resync, or a concurrent fetch:
    the unique mail_message_id decides)."""
    if session.scalar(select(Task.id).where(Task.mail_message_id == message.id)) is not None:
        return None
    title = " ".join(message.subject.split())[:_TITLE_CHARS] or NO_SUBJECT
    task = Task(
        title=title,
        account_id=message.account_id,
        mail_message_id=message.id,
        contact_id=contact_id,
        status=TaskStatus.OPEN,
    )
    session.flush()
    try:
        with session.begin_nested():
            session.add(task)
    except IntegrityError:
        return None
    webhooks.emit(session, webhooks.WebhookEvent.TASK_CREATED, task_payload(task))
    return task


def _visible(actor: User) -> ColumnElement[bool]:
    if actor.is_admin:
        return true()
    seen = select(Account.id).where(access.visible_accounts_condition(actor))
    return or_(
        Task.account_id.is_(None), Task.account_id.in_(seen), Task.assignee_user_id == actor.id
    )


def list_tasks(
    session: Session,
    *,
    actor: User,
    status: TaskStatus | None = None,
    assignee_user_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Task], int]:
    """Newest first."""
    conditions = [_visible(actor)]
    if status is not None:
        conditions.append(Task.status == status)
    if assignee_user_id is not None:
        conditions.append(Task.assignee_user_id == assignee_user_id)
    total = session.scalar(select(func.count()).select_from(Task).where(*conditions)) or 0
    rows = session.scalars(
        select(Task)
        .where(*conditions)
        .order_by(Task.created_at.desc(), Task.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def get_task(session: Session, *, actor: User, task_id: int) -> Task:
    task = session.scalar(select(Task).where(Task.id == task_id, _visible(actor)))
    if task is None:
        raise NotFoundError(f"Task {task_id} does not exist.")
    return task


def _check_assignee(session: Session, user_id: int | None) -> int | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise ValidationError.for_field(
            "assignee_user_id", f"There is no active user {user_id}.", "unknown_user"
        )
    return user_id


def _set_status(task: Task, status: TaskStatus) -> None:
    if status is not task.status:
        task.status = status
        task.completed_at = utcnow() if status is TaskStatus.DONE else None


def update_task(session: Session, *, actor: User, task_id: int, changes: dict[str, Any]) -> Task:
    """Change the fields in `changes`: status, assignee_user_id, title, description, due_date."""
    task = get_task(session, actor=actor, task_id=task_id)
    if changes.get("status") is not None:
        _set_status(task, TaskStatus(changes["status"]))
    if "assignee_user_id" in changes:
        task.assignee_user_id = _check_assignee(session, changes["assignee_user_id"])
    if changes.get("title") is not None:
        task.title = str(changes["title"]).strip()[:_TITLE_CHARS]
    if changes.get("description") is not None:
        task.description = str(changes["description"])
    if "due_date" in changes:
        due: date | None = changes["due_date"]
        task.due_date = due
    session.flush()
    return task


def delete_task(session: Session, *, actor: User, task_id: int) -> None:
    session.delete(get_task(session, actor=actor, task_id=task_id))
