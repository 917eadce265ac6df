"""Groups of users, for account access lists."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import GroupCreate, GroupPublic, GroupUpdate, Page
from postroom.services import groups

router = APIRouter(tags=["groups"])


@router.get("/groups", response_model=Page[GroupPublic])
def list_groups(caller: CallerDep, limit: Limit = 100, offset: Offset = 0) -> Page[GroupPublic]:
    with caller.begin() as tx:
        rows, total = groups.list_groups(tx.session, limit=limit, offset=offset)
        return Page(
            items=[GroupPublic.of(g) for g in rows], total=total, limit=limit, offset=offset
        )


@router.post("/groups", status_code=status.HTTP_201_CREATED, response_model=GroupPublic)
def create_group(body: GroupCreate, caller: CallerDep) -> GroupPublic:
    with caller.begin() as tx:
        group = groups.create_group(
            tx.session, actor=tx.actor, name=body.name, member_ids=body.member_ids
        )
        return GroupPublic.of(group)


@router.get("/groups/{group_id}", response_model=GroupPublic)
def get_group(group_id: int, caller: CallerDep) -> GroupPublic:
    with caller.begin() as tx:
        return GroupPublic.of(groups.get_group(tx.session, group_id))


@router.patch("/groups/{group_id}", response_model=GroupPublic)
def update_group(group_id: int, body: GroupUpdate, caller: CallerDep) -> GroupPublic:
    with caller.begin() as tx:
        group = groups.update_group(
            tx.session,
            actor=tx.actor,
            group_id=group_id,
            name=body.name,
            member_ids=body.member_ids,
        )
        return GroupPublic.of(group)


@router.delete("/groups/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_group(group_id: int, caller: CallerDep) -> Response:
    with caller.begin() as tx:
        groups.delete_group(tx.session, actor=tx.actor, group_id=group_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
