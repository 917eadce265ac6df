"""A savepoint that is a transaction's first write is undone with the transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from postroom.db.models import Company
from postroom.services.runtime import Runtime


class _RefusedError(Exception):
    pass


def _companies(runtime: Runtime) -> int:
    with runtime.platform() as session:
        return session.scalar(select(func.count()).select_from(Company)) or 0


def test_a_savepoint_first_is_rolled_back_with_its_transaction(runtime: Runtime) -> None:
    before = _companies(runtime)
    with pytest.raises(_RefusedError), runtime.platform() as session:
        session.scalar(select(func.count()).select_from(Company))  # reads come first
        with session.begin_nested():
            session.add(Company(name="Half-written"))
        raise _RefusedError  # e.g. a check after the insert refuses the request
    assert _companies(runtime) == before


def test_a_released_savepoint_is_kept_when_the_transaction_commits(runtime: Runtime) -> None:
    before = _companies(runtime)
    with runtime.platform() as session:
        with session.begin_nested():
            session.add(Company(name="Kept"))
        session.add(Company(name="Also kept"))
    assert _companies(runtime) == before + 2
