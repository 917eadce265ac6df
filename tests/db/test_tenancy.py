"""The tenant scope itself: unscoped queries are refused, writes cannot cross companies."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from postroom.db.models import Company, Project, User
from postroom.db.tenancy import TenantScopeError
from postroom.services.runtime import Runtime
from tests.support import Tenant


def test_a_session_without_scope_refuses_to_query(runtime: Runtime) -> None:
    with runtime.session_factory() as session, pytest.raises(TenantScopeError):
        session.scalars(select(User)).all()


def test_scoped_session_sees_only_its_company(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    with runtime.tenant(other_tenant.company_id) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
        assert session.get(User, tenant.admin.id) is None
        assert session.get(Company, tenant.company_id) is None
        assert [c.id for c in session.scalars(select(Company))] == [other_tenant.company_id]
        # A bulk UPDATE is confined too: the other company's admin keeps their name.
        session.execute(update(User).values(name="renamed"))
    with runtime.tenant(tenant.company_id) as session:
        admin = session.get(User, tenant.admin.id)
        assert admin is not None and admin.name == ""


def test_writing_a_row_of_another_company_is_refused(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    with pytest.raises(TenantScopeError), runtime.tenant(other_tenant.company_id) as session:
        session.add(Project(company_id=tenant.company_id, name="smuggled"))
    with runtime.platform() as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 0


def test_new_rows_get_the_scope_company(runtime: Runtime, tenant: Tenant) -> None:
    with runtime.tenant(tenant.company_id) as session:
        project = Project(name="auto")
        session.add(project)
        session.flush()
        assert project.company_id == tenant.company_id
