"""Groups of users, used in account access lists (B3)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postroom.db.models import Group, GroupMember, User
from postroom.errors import ValidationError
from postroom.services.guards import add_unique, get_or_404, require_admin


def _check_users_exist(session: Session, user_ids: Iterable[int], field: str) -> list[int]:
    wanted = sorted(set(user_ids))
    found = set(session.scalars(select(User.id).where(User.id.in_(wanted))))
    missing = [user_id for user_id in wanted if user_id not in found]
    if missing:
        raise ValidationError.for_field(
            field,
            f"No user with id {', '.join(map(str, missing))} in this company.",
            "unknown_user",
        )
    return wanted


def create_group(
    session: Session, *, actor: User, name: str, member_ids: Iterable[int] = ()
) -> Group:
    require_admin(actor, "create groups")
    members = _check_users_exist(session, member_ids, "member_ids")
    group = Group(name=name.strip(), members=[GroupMember(user_id=uid) for uid in members])
    return _save_group(session, group)


def list_groups(session: Session, *, limit: int = 100, offset: int = 0) -> tuple[list[Group], int]:
    total = session.scalar(select(func.count()).select_from(Group)) or 0
    rows = session.scalars(select(Group).order_by(Group.name).limit(limit).offset(offset)).all()
    return list(rows), total


def get_group(session: Session, group_id: int) -> Group:
    return get_or_404(session, Group, group_id, "Group")


def update_group(
    session: Session,
    *,
    actor: User,
    group_id: int,
    name: str | None = None,
    member_ids: Iterable[int] | None = None,
) -> Group:
    require_admin(actor, "change groups")
    group = get_group(session, group_id)
    if name is not None:
        group.name = name.strip()
    if member_ids is not None:
        wanted = _check_users_exist(session, member_ids, "member_ids")
        current = {member.user_id: member for member in group.members}
        group.members = [current.get(uid) or GroupMember(user_id=uid) for uid in wanted]
    return _save_group(session, group)


def delete_group(session: Session, *, actor: User, group_id: int) -> None:
    require_admin(actor, "delete groups")
    session.delete(get_group(session, group_id))


def _save_group(session: Session, group: Group) -> Group:
    return add_unique(
        session,
        group,
        f"A group named {group.name!r} already exists; choose another name.",
        "name_taken",
    )
