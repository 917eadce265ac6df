"""Projects: accounts bound to a project are offered only inside it (B4)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postroom.db.models import Project, User
from postroom.services.guards import add_unique, get_or_404, require_admin


def create_project(session: Session, *, actor: User, name: str) -> Project:
    require_admin(actor, "create projects")
    return _save_project(session, Project(name=name.strip()))


def list_projects(
    session: Session, *, limit: int = 100, offset: int = 0
) -> tuple[list[Project], int]:
    total = session.scalar(select(func.count()).select_from(Project)) or 0
    rows = session.scalars(select(Project).order_by(Project.name).limit(limit).offset(offset)).all()
    return list(rows), total


def get_project(session: Session, project_id: int) -> Project:
    return get_or_404(session, Project, project_id, "Project")


def rename_project(session: Session, *, actor: User, project_id: int, name: str) -> Project:
    require_admin(actor, "rename projects")
    project = get_project(session, project_id)
    project.name = name.strip()
    return _save_project(session, project)


def delete_project(session: Session, *, actor: User, project_id: int) -> None:
    require_admin(actor, "delete projects")
    session.delete(get_project(session, project_id))


def _save_project(session: Session, project: Project) -> Project:
    return add_unique(
        session,
        project,
        f"A project named {project.name!r} already exists; choose another name.",
        "name_taken",
    )
