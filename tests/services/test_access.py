"""E1–E2, B3: who may see, use and edit an account, as a table of role × owner × grant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from postroom.db.models import Account, Group, GroupMember, User
from postroom.enums import AccessMode, Role
from postroom.errors import NotFoundError, PermissionDeniedError
from postroom.services import access, accounts
from postroom.services.account_schemas import AccountCreate, AccountUpdate
from postroom.services.runtime import Runtime
from tests.support import Tenant

ADMIN, USER, VIEWER = "admin", "user", "user who may see others' accounts"
COMPANY_EVERYONE, COMPANY_LISTED, OWN, COLLEAGUES = (
    "company, everyone",
    "company, listed",
    "own personal",
    "colleague's personal",
)
NO_GRANT, DIRECT, VIA_GROUP = "no grant", "granted to the user", "granted to the user's group"


@dataclass(frozen=True)
class Expect:
    see: bool
    use: bool
    edit: bool


ALL, READ_USE, SEE_ONLY, NOTHING = (
    Expect(True, True, True),
    Expect(True, True, False),
    Expect(True, False, False),
    Expect(False, False, False),
)

CASES = [
    # role, owner, grant -> expectation
    *[
        (ADMIN, owner, grant, ALL)
        for owner in (COMPANY_EVERYONE, COMPANY_LISTED, COLLEAGUES)
        for grant in (NO_GRANT, DIRECT)
    ],
    (USER, COMPANY_EVERYONE, NO_GRANT, READ_USE),
    (USER, COMPANY_LISTED, NO_GRANT, NOTHING),
    (USER, COMPANY_LISTED, DIRECT, READ_USE),
    (USER, COMPANY_LISTED, VIA_GROUP, READ_USE),
    (USER, OWN, NO_GRANT, ALL),
    (USER, COLLEAGUES, NO_GRANT, NOTHING),
    (USER, COLLEAGUES, DIRECT, READ_USE),
    (USER, COLLEAGUES, VIA_GROUP, READ_USE),
    (VIEWER, COMPANY_EVERYONE, NO_GRANT, READ_USE),
    (VIEWER, COMPANY_LISTED, NO_GRANT, NOTHING),  # E2 is about users' accounts, not company ones
    (VIEWER, COLLEAGUES, NO_GRANT, SEE_ONLY),
    (VIEWER, COLLEAGUES, DIRECT, READ_USE),
    (VIEWER, OWN, NO_GRANT, ALL),
]


@pytest.fixture
def scene(runtime: Runtime, tenant: Tenant) -> Callable[[str, str, str], tuple[int, int]]:
    """Build one case: returns (actor id, account id)."""

    def build(role: str, owner: str, grant: str) -> tuple[int, int]:
        actor = tenant.add_user(
            Role.ADMIN if role == ADMIN else Role.USER, can_see_others_accounts=role == VIEWER
        )
        colleague = tenant.add_user()
        with runtime.tenant(tenant.company_id) as session:
            group = Group(name=f"g{actor.id}", members=[GroupMember(user_id=actor.id)])
            session.add(group)
            session.flush()
            owner_id = {OWN: actor.id, COLLEAGUES: colleague.id}.get(owner)
            data = AccountCreate(
                email_address=f"box{actor.id}@example.test",
                smtp_host="smtp.example.test",
                owner_user_id=owner_id,
                access_mode=AccessMode.EVERYONE if owner == COMPANY_EVERYONE else AccessMode.LISTED,
                access_user_ids=[actor.id] if grant == DIRECT else [],
                access_group_ids=[group.id] if grant == VIA_GROUP else [],
            )
            account = accounts.create_account(
                session, actor=None, data=data, box=runtime.secret_box, company_id=tenant.company_id
            )
            return actor.id, account.id

    return build


@pytest.mark.parametrize(
    ("role", "owner", "grant", "expect"), CASES, ids=[f"{r} | {o} | {g}" for r, o, g, _ in CASES]
)
def test_access_table(
    runtime: Runtime,
    tenant: Tenant,
    scene: Callable[[str, str, str], tuple[int, int]],
    role: str,
    owner: str,
    grant: str,
    expect: Expect,
) -> None:
    actor_id, account_id = scene(role, owner, grant)
    with runtime.tenant(tenant.company_id) as session:
        actor = session.get(User, actor_id)
        account = session.get(Account, account_id)
        assert actor is not None and account is not None
        groups = access.group_ids_of(session, actor)
        # The rule in Python …
        assert access.can_see(actor, account, groups) is expect.see
        assert access.can_use(actor, account, groups) is expect.use
        assert access.can_edit(actor, account) is expect.edit
        # … its SQL twin used by lists and counts …
        listed, total = accounts.list_accounts(session, actor=actor)
        assert (account_id in [a.id for a in listed]) is expect.see
        assert total == len(listed)
        # … and what the services do with it.
        _assert_service_enforces(session, actor, account_id, expect, runtime)


def _assert_service_enforces(
    session: object, actor: User, account_id: int, expect: Expect, runtime: Runtime
) -> None:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    if not expect.see:
        with pytest.raises(NotFoundError):
            accounts.get_account(session, actor=actor, account_id=account_id)
    if expect.see and not expect.use:
        with pytest.raises(PermissionDeniedError):
            accounts.get_usable_account(session, actor=actor, account_id=account_id)
    if expect.use:
        assert accounts.get_usable_account(session, actor=actor, account_id=account_id)
    update = AccountUpdate(display_name="Changed")
    if expect.edit:
        accounts.update_account(
            session, actor=actor, account_id=account_id, data=update, box=runtime.secret_box
        )
    else:
        with pytest.raises(NotFoundError if not expect.see else PermissionDeniedError):
            accounts.update_account(
                session, actor=actor, account_id=account_id, data=update, box=runtime.secret_box
            )


def test_administrators_access_cannot_be_taken_away(
    runtime: Runtime, tenant: Tenant, scene: Callable[[str, str, str], tuple[int, int]]
) -> None:
    """An access list that names nobody still leaves every administrator in (E1)."""
    actor_id, account_id = scene(ADMIN, COMPANY_LISTED, NO_GRANT)
    with runtime.tenant(tenant.company_id) as session:
        admin = session.get(User, actor_id)
        assert admin is not None
        accounts.update_account(
            session,
            actor=admin,
            account_id=account_id,
            data=AccountUpdate(access_user_ids=[], access_group_ids=[]),
            box=runtime.secret_box,
        )
        assert accounts.get_usable_account(session, actor=admin, account_id=account_id)


def test_user_cannot_create_company_or_others_accounts(runtime: Runtime, tenant: Tenant) -> None:
    member = tenant.add_user()
    colleague = tenant.add_user()
    with runtime.tenant(tenant.company_id) as session:
        actor = session.get(User, member.id)
        assert actor is not None
        for owner in (None, colleague.id):
            data = AccountCreate(
                email_address="x@example.test", smtp_host="smtp.example.test", owner_user_id=owner
            )
            with pytest.raises(PermissionDeniedError):
                accounts.create_account(session, actor=actor, data=data, box=runtime.secret_box)
        own = AccountCreate(
            email_address="x@example.test", smtp_host="smtp.example.test", owner_user_id=member.id
        )
        assert accounts.create_account(session, actor=actor, data=own, box=runtime.secret_box)
