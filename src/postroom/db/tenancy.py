"""The one place that confines every query to one company (E3).

A session is either scoped to a company (`scoped_session`) or explicitly unscoped
(`platform_session`, for work that spans tenants: provisioning, login, token lookup).
Every ORM SELECT, UPDATE and DELETE in a scoped session gets `company_id = :id` added to
every tenant-owned table it touches, relationship loads included; every row it inserts
must belong to that company. A session that is neither refuses to run a query at all,
so forgetting the scope is an error, never a leak.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria

from postroom.db.base import TenantOwned
from postroom.db.models import Company

_COMPANY_KEY = "postroom_company_id"
_PLATFORM_KEY = "postroom_platform"


class TenantScopeError(RuntimeError):
    """A query ran in a session that was given no tenant scope, or crossed it."""


def company_of(session: Session) -> int:
    company_id = session.info.get(_COMPANY_KEY)
    if company_id is None:
        raise TenantScopeError("this session is not scoped to a company")
    return int(company_id)


@contextmanager
def scoped_session(factory: sessionmaker[Session], company_id: int) -> Iterator[Session]:
    """A session that sees and writes only `company_id`'s rows. Commits on success."""
    with factory() as session:
        session.info[_COMPANY_KEY] = company_id
        with session.begin():
            yield session


@contextmanager
def platform_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that sees every company. Only for provisioning, login and token lookup."""
    with factory() as session:
        session.info[_PLATFORM_KEY] = True
        with session.begin():
            yield session


def rescope(session: Session, company_id: int) -> None:
    """Narrow a platform session to one company once the caller's company is known."""
    session.info.pop(_PLATFORM_KEY, None)
    session.info[_COMPANY_KEY] = company_id


@event.listens_for(Session, "do_orm_execute")
def _confine_to_company(state: ORMExecuteState) -> None:
    info = state.session.info
    if info.get(_PLATFORM_KEY):
        return
    company_id = info.get(_COMPANY_KEY)
    if company_id is None:
        raise TenantScopeError(
            "query in a session without tenant scope; use scoped_session or platform_session"
        )
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantOwned,
                lambda cls: cls.company_id == company_id,
                include_aliases=True,
            ),
            with_loader_criteria(Company, Company.id == company_id, include_aliases=True),
        )


@event.listens_for(Session, "before_flush")
def _inserts_stay_in_company(session: Session, _context: Any, _instances: Any) -> None:
    company_id = session.info.get(_COMPANY_KEY)
    if company_id is None:
        return
    for obj in [*session.new, *session.dirty]:
        if not isinstance(obj, TenantOwned):
            continue
        if obj.company_id is None:
            obj.company_id = company_id
        elif obj.company_id != company_id:
            raise TenantScopeError(f"refusing to write a {type(obj).__name__} of another company")
