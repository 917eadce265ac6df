"""Reminder settings: built-in defaults, office defaults, client overrides, the send date."""

from __future__ import annotations

from datetime import date

import pytest

from postroom.db.models import User
from postroom.enums import ReminderKind, Role
from postroom.errors import PermissionDeniedError, ValidationError
from postroom.services import reminder_settings as rs
from postroom.services.reminder_settings import ReminderOverride, ReminderSetting, send_date
from postroom.services.runtime import Runtime
from tests.reminders.support import make_client
from tests.support import Tenant


def test_send_date_days_before() -> None:
    assert send_date(ReminderSetting(days_before=3), date(2026, 11, 25)) == date(2026, 11, 22)
    assert send_date(ReminderSetting(days_before=0), date(2026, 11, 25)) == date(2026, 11, 25)
    # Across a month boundary.
    assert send_date(ReminderSetting(days_before=7), date(2026, 12, 5)) == date(2026, 11, 28)


def test_send_date_day_of_month_when_not_after_the_deadline() -> None:
    setting = ReminderSetting(days_before=3, day_of_month=10)
    assert send_date(setting, date(2026, 11, 25)) == date(2026, 11, 10)
    assert send_date(setting, date(2026, 11, 10)) == date(2026, 11, 10)  # the deadline day
    # The 10th would be after a deadline on the 5th: days_before applies instead.
    assert send_date(setting, date(2026, 11, 5)) == date(2026, 11, 2)


def _admin(runtime: Runtime, tenant: Tenant) -> User:
    with runtime.tenant(tenant.company_id) as session:
        user = session.get(User, tenant.admin.id)
        assert user is not None
        session.expunge(user)
        return user


def test_defaults_are_on_without_any_row(runtime: Runtime, tenant: Tenant) -> None:
    with runtime.tenant(tenant.company_id) as session:
        defaults = rs.office_defaults(session)
    assert set(defaults) == set(ReminderKind)
    assert all(s == ReminderSetting(True, 3, None) for s in defaults.values())


def test_office_defaults_and_client_overrides(runtime: Runtime, tenant: Tenant) -> None:
    client_id = make_client(runtime, tenant.company_id, "Piekarnia Kowalski")
    admin = _admin(runtime, tenant)
    with runtime.tenant(tenant.company_id) as session:
        rs.set_office_default(
            session, actor=admin, kind=ReminderKind.VAT, setting=ReminderSetting(True, 5, 15)
        )
        rs.set_office_default(
            session, actor=admin, kind=ReminderKind.ZUS, setting=ReminderSetting(False, 3, None)
        )
        rs.set_client_override(
            session,
            client_id=client_id,
            kind=ReminderKind.VAT,
            override=ReminderOverride(days_before=1),  # the rest inherits
        )
        rs.set_client_override(
            session,
            client_id=client_id,
            kind=ReminderKind.ZUS,
            override=ReminderOverride(enabled=True),
        )
    with runtime.tenant(tenant.company_id) as session:
        effective = rs.effective_settings(session, client_id)
        overrides = rs.client_overrides(session, client_id)
    assert effective[ReminderKind.VAT] == ReminderSetting(True, 1, 15)
    assert effective[ReminderKind.ZUS] == ReminderSetting(True, 3, None)
    assert effective[ReminderKind.DOCUMENTS] == ReminderSetting(True, 3, None)
    assert overrides[ReminderKind.VAT] == ReminderOverride(None, 1, None)
    # All None clears the override: the office's setting applies again.
    with runtime.tenant(tenant.company_id) as session:
        rs.set_client_override(
            session, client_id=client_id, kind=ReminderKind.ZUS, override=ReminderOverride()
        )
        assert rs.effective_settings(session, client_id)[ReminderKind.ZUS].enabled is False


def test_only_an_administrator_changes_office_defaults(runtime: Runtime, tenant: Tenant) -> None:
    member = tenant.add_user(Role.USER)
    with runtime.tenant(tenant.company_id) as session:
        user = session.get(User, member.id)
        assert user is not None
        with pytest.raises(PermissionDeniedError):
            rs.set_office_default(
                session, actor=user, kind=ReminderKind.VAT, setting=ReminderSetting(False)
            )


@pytest.mark.parametrize(
    ("days_before", "day_of_month", "field"),
    [(-1, None, "vat.days_before"), (32, None, "vat.days_before"), (3, 0, "vat.day_of_month"),
     (3, 29, "vat.day_of_month")],
)  # fmt: skip
def test_out_of_range_settings_are_refused(
    runtime: Runtime, tenant: Tenant, days_before: int, day_of_month: int | None, field: str
) -> None:
    client_id = make_client(runtime, tenant.company_id, "Warsztat Nowak")
    admin = _admin(runtime, tenant)
    with runtime.tenant(tenant.company_id) as session:
        with pytest.raises(ValidationError) as office:
            rs.set_office_default(
                session,
                actor=admin,
                kind=ReminderKind.VAT,
                setting=ReminderSetting(True, days_before, day_of_month),
            )
        with pytest.raises(ValidationError) as own:
            rs.set_client_override(
                session,
                client_id=client_id,
                kind=ReminderKind.VAT,
                override=ReminderOverride(None, days_before, day_of_month),
            )
    for caught in (office, own):
        assert [p.field for p in caught.value.problems] == [field]
        assert caught.value.problems[0].code == "out_of_range"
