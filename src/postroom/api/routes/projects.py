"""Projects, to which company accounts can be bound (B4)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import Page, ProjectPublic, ProjectWrite
from postroom.services import projects

router = APIRouter(tags=["projects"])


@router.get("/projects", response_model=Page[ProjectPublic])
def list_projects(caller: CallerDep, limit: Limit = 100, offset: Offset = 0) -> Page[ProjectPublic]:
    with caller.begin() as tx:
        rows, total = projects.list_projects(tx.session, limit=limit, offset=offset)
        return Page(
            items=[ProjectPublic.model_validate(p) for p in rows],
            total=total,
            limit=limit,
            offset=offset,
        )


@router.post("/projects", status_code=status.HTTP_201_CREATED, response_model=ProjectPublic)
def create_project(body: ProjectWrite, caller: CallerDep) -> ProjectPublic:
    with caller.begin() as tx:
        project = projects.create_project(tx.session, actor=tx.actor, name=body.name)
        return ProjectPublic.model_validate(project)


@router.get("/projects/{project_id}", response_model=ProjectPublic)
def get_project(project_id: int, caller: CallerDep) -> ProjectPublic:
    with caller.begin() as tx:
        return ProjectPublic.model_validate(projects.get_project(tx.session, project_id))


@router.patch("/projects/{project_id}", response_model=ProjectPublic)
def rename_project(project_id: int, body: ProjectWrite, caller: CallerDep) -> ProjectPublic:
    with caller.begin() as tx:
        project = projects.rename_project(
            tx.session, actor=tx.actor, project_id=project_id, name=body.name
        )
        return ProjectPublic.model_validate(project)


@router.delete("/projects/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(project_id: int, caller: CallerDep) -> Response:
    with caller.begin() as tx:
        projects.delete_project(tx.session, actor=tx.actor, project_id=project_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
