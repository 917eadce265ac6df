"""Deadline reminders (F3): office defaults, client overrides, the host's data, upcoming."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from postroom.api.deps import CallerDep
from postroom.api.schemas_reminders import (
    ClientReminderPublic,
    ClientRemindersPublic,
    ClientRemindersUpdate,
    OfficeRemindersPublic,
    OfficeRemindersUpdate,
    ReminderDataIn,
    ReminderDataPublic,
    ReminderOverridePublic,
    ReminderSettingPublic,
    UpcomingItem,
    UpcomingPublic,
)
from postroom.enums import ReminderKind
from postroom.errors import NotFoundError, ValidationError
from postroom.services import reminder_data, reminder_settings, reminder_upcoming
from postroom.services.clients import get_client
from postroom.services.deadlines import deadline, parse_period
from postroom.services.reminder_profile import profile_of
from postroom.services.reminder_scheduler import office_today
from postroom.services.reminder_settings import ReminderOverride, ReminderSetting

router = APIRouter(tags=["reminders"])
MAX_UPCOMING_DAYS = 366
DEFAULT_UPCOMING_DAYS = 31


def _setting(kind: ReminderKind, setting: ReminderSetting) -> ReminderSettingPublic:
    return ReminderSettingPublic(
        kind=kind,
        enabled=setting.enabled,
        days_before=setting.days_before,
        day_of_month=setting.day_of_month,
    )


def _office(session: Session) -> OfficeRemindersPublic:
    defaults = reminder_settings.office_defaults(session)
    return OfficeRemindersPublic(settings=[_setting(k, s) for k, s in defaults.items()])


def _client(session: Session, client_id: int) -> ClientRemindersPublic:
    overrides = reminder_settings.client_overrides(session, client_id)
    effective = reminder_settings.effective_settings(session, client_id)
    return ClientRemindersPublic(
        client_id=client_id,
        settings=[
            ClientReminderPublic(
                kind=kind,
                override=ReminderOverridePublic(
                    enabled=overrides[kind].enabled,
                    days_before=overrides[kind].days_before,
                    day_of_month=overrides[kind].day_of_month,
                ),
                effective=_setting(kind, effective[kind]),
            )
            for kind in ReminderKind
        ],
    )


@router.get("/office/reminders", response_model=OfficeRemindersPublic)
def get_office_reminders(caller: CallerDep) -> OfficeRemindersPublic:
    with caller.begin() as tx:
        return _office(tx.session)


@router.put("/office/reminders", response_model=OfficeRemindersPublic)
def put_office_reminders(body: OfficeRemindersUpdate, caller: CallerDep) -> OfficeRemindersPublic:
    """Administrators only; the kinds given are set, the others keep their setting."""
    with caller.begin() as tx:
        for item in body.settings:
            setting = ReminderSetting(item.enabled, item.days_before, item.day_of_month)
            reminder_settings.set_office_default(
                tx.session, actor=tx.actor, kind=item.kind, setting=setting
            )
        return _office(tx.session)


@router.get("/clients/{client_id}/reminders", response_model=ClientRemindersPublic)
def get_client_reminders(client_id: int, caller: CallerDep) -> ClientRemindersPublic:
    with caller.begin() as tx:
        return _client(tx.session, client_id)


@router.put("/clients/{client_id}/reminders", response_model=ClientRemindersPublic)
def put_client_reminders(
    client_id: int, body: ClientRemindersUpdate, caller: CallerDep
) -> ClientRemindersPublic:
    with caller.begin() as tx:
        for item in body.settings:
            override = ReminderOverride(item.enabled, item.days_before, item.day_of_month)
            reminder_settings.set_client_override(
                tx.session, client_id=client_id, kind=item.kind, override=override
            )
        return _client(tx.session, client_id)


def _data_public(
    session: Session, client_id: int, kind: ReminderKind, period: str
) -> ReminderDataPublic:
    row = reminder_data.reminder_data(session, client_id=client_id, kind=kind, period=period)
    if row is None:
        raise NotFoundError(f"Client {client_id} has no {kind.value} data for {period}.")
    public = ReminderDataPublic.model_validate(row)
    client = get_client(session, client_id)
    public.deadline = deadline(kind, profile_of(client), parse_period(row.period))
    return public


@router.put("/clients/{client_id}/reminders/{kind}/{period}", response_model=ReminderDataPublic)
def put_reminder_data(
    client_id: int, kind: ReminderKind, period: str, body: ReminderDataIn, caller: CallerDep
) -> ReminderDataPublic:
    """The host application's amount, documents and note for one client, kind and period
    (e.g. /clients/7/reminders/vat/2026-10); the reminder quotes them."""
    facts = reminder_data.ReminderFacts(body.amount, body.currency, body.documents, body.note)
    with caller.begin() as tx:
        row = reminder_data.upsert_reminder_data(
            tx.session, client_id=client_id, kind=kind, period=period, facts=facts
        )
        return _data_public(tx.session, client_id, kind, row.period)


@router.get("/clients/{client_id}/reminders/{kind}/{period}", response_model=ReminderDataPublic)
def get_reminder_data(
    client_id: int, kind: ReminderKind, period: str, caller: CallerDep
) -> ReminderDataPublic:
    with caller.begin() as tx:
        get_client(tx.session, client_id)
        return _data_public(tx.session, client_id, kind, period)


def _window(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    start = start or today
    end = end or start + timedelta(days=DEFAULT_UPCOMING_DAYS)
    if end < start:
        raise ValidationError.for_field("end", "end is before start; swap them.", "invalid_range")
    if (end - start).days > MAX_UPCOMING_DAYS:
        raise ValidationError.for_field(
            "end", f"Ask for at most {MAX_UPCOMING_DAYS} days at a time.", "range_too_long"
        )
    return start, end


@router.get("/reminders/upcoming", response_model=UpcomingPublic)
def upcoming(
    caller: CallerDep,
    start: Annotated[date | None, Query(description="From this day (default today).")] = None,
    end: Annotated[date | None, Query(description="Through this day (default +31 days).")] = None,
    client_id: Annotated[int | None, Query(description="Only this client.")] = None,
) -> UpcomingPublic:
    """What goes out when: deadline reminders and unpaid-invoice notices, by day."""
    today = office_today(datetime.now(UTC), caller.runtime.settings.local_timezone)
    start, end = _window(start, end, today)
    with caller.begin() as tx:
        if client_id is not None:
            get_client(tx.session, client_id)
        found = reminder_upcoming.upcoming(
            tx.session, start=start, end=end, today=today, client_id=client_id
        )
        return UpcomingPublic(
            start=start,
            end=end,
            items=[UpcomingItem.model_validate(e, from_attributes=True) for e in found],
        )
