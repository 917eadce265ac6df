"""Who may see, use and edit which account (E1–E2, B3): one set of rules, in Python and SQL."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from postroom.db.models import Account, AccountGrant, GroupMember, User
from postroom.enums import AccessMode


def group_ids_of(session: Session, user: User) -> set[int]:
    rows = session.scalars(select(GroupMember.group_id).where(GroupMember.user_id == user.id))
    return set(rows)


def can_use(user: User, account: Account, group_ids: set[int]) -> bool:
    """Read mail of and send from the account (E1). Administrators always can."""
    if user.is_admin or account.owner_user_id == user.id:
        return True
    if account.owner_user_id is None and account.access_mode is AccessMode.EVERYONE:
        return True
    return any(
        grant.user_id == user.id or (grant.group_id is not None and grant.group_id in group_ids)
        for grant in account.grants
    )


def can_see(user: User, account: Account, group_ids: set[int]) -> bool:
    """See the account and its mail; E2 lets a user see other users' personal accounts."""
    if can_use(user, account, group_ids):
        return True
    return account.owner_user_id is not None and user.can_see_others_accounts


def can_edit(user: User, account: Account) -> bool:
    """Change settings: administrators any account, a user their own personal accounts."""
    return user.is_admin or account.owner_user_id == user.id


def _granted(user: User) -> ColumnElement[bool]:
    member_groups = select(GroupMember.group_id).where(GroupMember.user_id == user.id)
    return exists().where(
        AccountGrant.account_id == Account.id,
        or_(AccountGrant.user_id == user.id, AccountGrant.group_id.in_(member_groups)),
    )


def usable_accounts_condition(user: User) -> ColumnElement[bool]:
    """SQL twin of `can_use`, for listing and counting without loading every row."""
    if user.is_admin:
        return true()
    return or_(
        Account.owner_user_id == user.id,
        and_(Account.owner_user_id.is_(None), Account.access_mode == AccessMode.EVERYONE),
        _granted(user),
    )


def visible_accounts_condition(user: User) -> ColumnElement[bool]:
    """SQL twin of `can_see`."""
    others = Account.owner_user_id.is_not(None) if user.can_see_others_accounts else false()
    return or_(usable_accounts_condition(user), others)
