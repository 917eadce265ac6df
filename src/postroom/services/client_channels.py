"""A client's channel switches and deadline profile (F1, F2, F3): read, change, bulk change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.models_crm import Client
from postroom.enums import Channel, TaxPeriod
from postroom.errors import ConflictError, NotFoundError, ValidationError
from postroom.services import sms_office

SWITCHES = {
    Channel.EMAIL: "channel_email",
    Channel.SMS: "channel_sms",
    Channel.INAPP: "channel_inapp",
    Channel.WEBPUSH: "channel_webpush",
}
PROFILE_FIELDS = ("vat_period", "income_tax_period", "zus_day", "documents_day")
FIELDS = (*SWITCHES.values(), *PROFILE_FIELDS)
# ZUS: the 15th for budget units, the 20th for everyone else (ustawa o systemie ubezpieczeń
# społecznych, art. 47 ust. 1); None: the client pays no contributions through the office.
ZUS_DAYS = (15, 20)
# A day every month has, so the documents deadline never falls off a short month.
DOCUMENTS_DAYS = range(1, 29)
SMS_NOT_ENABLED = (
    "SMS is not enabled for the office: an administrator must turn SMS on in the office "
    "settings and accept its cost before SMS can be turned on for a client."
)


def _check_zus_day(value: Any) -> int | None:
    if value is not None and value not in ZUS_DAYS:
        raise ValidationError.for_field(
            "zus_day",
            f"ZUS contributions are due on the 15th or the 20th, not on day {value}; "
            "send 15, 20, or null when the client pays none.",
            "invalid_zus_day",
        )
    return None if value is None else int(value)


def _check_documents_day(value: Any) -> int | None:
    if value is not None and value not in DOCUMENTS_DAYS:
        raise ValidationError.for_field(
            "documents_day",
            f"The documents day is a day of the month from 1 to 28, not {value}; "
            "or null when the client delivers no documents.",
            "invalid_documents_day",
        )
    return None if value is None else int(value)


def _check_period(name: str, value: Any) -> TaxPeriod:
    try:
        return TaxPeriod(value)
    except ValueError:
        choices = ", ".join(p.value for p in TaxPeriod)
        raise ValidationError.for_field(
            name, f"{name} is one of {choices}, not {value!r}.", "invalid_period"
        ) from None


def _check_switch(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError.for_field(name, f"{name} is true or false.", "invalid")
    return value


def require_sms_enabled(session: Session, field_name: str = "channel_sms") -> None:
    """F2: SMS costs money; a client's SMS switch opens only once the office accepted that."""
    if not sms_office.sms_enabled(session):
        raise ConflictError(SMS_NOT_ENABLED, code="sms_not_enabled")


def checked_changes(session: Session, changes: dict[str, Any]) -> dict[str, Any]:
    """The channel and profile fields of `changes`, checked; other keys are ignored."""
    checked: dict[str, Any] = {}
    for name in SWITCHES.values():
        if name in changes:
            checked[name] = _check_switch(name, changes[name])
    for name in ("vat_period", "income_tax_period"):
        if name in changes:
            checked[name] = _check_period(name, changes[name])
    if "zus_day" in changes:
        checked["zus_day"] = _check_zus_day(changes["zus_day"])
    if "documents_day" in changes:
        checked["documents_day"] = _check_documents_day(changes["documents_day"])
    return checked


def check(
    session: Session, changes: dict[str, Any], client: Client | None = None
) -> dict[str, Any]:
    """The channel and profile fields of `changes`, checked, before anything is written (a
    new client: `client` None). Turning SMS on (it was off) while the office's SMS is off is
    refused with `sms_not_enabled`; turning it off always works."""
    checked = checked_changes(session, changes)
    was_on = client is not None and client.channel_sms
    if checked.get("channel_sms") is True and not was_on:
        require_sms_enabled(session)
    return checked


def assign(client: Client, checked: dict[str, Any]) -> Client:
    """Set the fields `check` returned."""
    for name, value in checked.items():
        setattr(client, name, value)
    return client


def apply(session: Session, client: Client, changes: dict[str, Any]) -> Client:
    """`check` then `assign`: nothing is changed when any field is refused."""
    return assign(client, check(session, changes, client))


def set_channel(
    session: Session, *, client_ids: Sequence[int], channel: Channel, enabled: bool
) -> list[Client]:
    """The client list's bulk switch: one channel on or off for many clients, all or none.
    An id that is not the company's client is NotFoundError, and nothing changes."""
    wanted = list(dict.fromkeys(client_ids))
    found = {c.id: c for c in session.scalars(select(Client).where(Client.id.in_(wanted)))}
    missing = [i for i in wanted if i not in found]
    if missing:
        listed = ", ".join(str(i) for i in missing)
        raise NotFoundError(f"Client {listed} does not exist; nothing was changed.")
    if channel is Channel.SMS and enabled:
        require_sms_enabled(session)
    for client_id in wanted:
        setattr(found[client_id], SWITCHES[channel], enabled)
    session.flush()
    return [found[i] for i in wanted]
