"""One client's page: details and deadline profile, contacts and their Web Push links,
reminder overrides, "Send a message" with the SMS estimate, and the communication history."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from postroom.enums import ReminderKind
from postroom.errors import ConflictError, NotFoundError, ValidationError
from postroom.services import (
    client_channels,
    client_notify,
    clients,
    contacts,
    push_subscriptions,
    reminder_settings,
    sms_office,
)
from postroom.services.reminder_settings import ReminderOverride
from postroom.services.runtime import Runtime
from postroom.web.auth import CheckedForm, RuntimeDep, Visitor, VisitorDep, tenant_work
from postroom.web.client_page_view import client_page_context, history_context
from postroom.web.clients_view import ERROR_TEXTS, error_text, labels, optional_int
from postroom.web.i18n import N_, Translator
from postroom.web.rendering import redirect, render

router = APIRouter()

PAGE = "/clients/{client_id}"
NOTICES = {
    "saved": N_("Saved"),
    "contact": N_("Contact added."),
    "link": N_("A new Web Push link was made; the old one no longer works."),
    "reminders": N_("The client's reminder settings were saved."),
    "sent": N_("The message was handed to the client's channels; the outcome is below."),
}
# The API's phone pattern (schemas_crm.Phone): digits and the usual separators.
_PHONE = re.compile(r"^[0-9+()./ \-]{0,50}$")
_PROFILE = ("name", "domain", "tax_id", "vat_period", "income_tax_period")
_MESSAGE = ("subject", "text", "sms_text")
_CONTACT = ("email", "name", "phone")


def _page(
    request: Request,
    runtime: Runtime,
    visitor: Visitor,
    client_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    done = request.query_params.get("done", "")
    notice = NOTICES.get(done)
    with tenant_work(runtime, visitor) as (session, _actor):
        context = client_page_context(
            session, runtime, client_id, request.query_params.get("sent", "")
        )
        context |= {
            "notice": Translator(visitor.language)(notice) if notice else None,
            "errors": errors or {},
            "values": values or {},
        }
        return render(request, "client_page.html", context, status_code=status_code)


def _texts(form: Any, names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(form.get(name) or "").strip() for name in names}


@router.get(PAGE, response_model=None)
def client_page(
    request: Request, client_id: int, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    return _page(request, runtime, visitor, client_id)


@router.post(PAGE, response_model=None)
def update_client(
    request: Request, client_id: int, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """Details and deadline profile, checked like the API's PATCH before anything is written."""
    changes: dict[str, Any] = _texts(form, _PROFILE)
    changes["zus_day"] = optional_int(form.get("zus_day"))
    changes["documents_day"] = optional_int(form.get("documents_day"))
    translate = Translator(visitor.language)
    if not changes["name"]:
        errors = {"details": translate(ERROR_TEXTS["name_required"])}
        return _page(request, runtime, visitor, client_id, errors=errors, status_code=422)
    try:
        with tenant_work(runtime, visitor) as (session, _actor):
            current = clients.get_client(session, client_id)
            checked = client_channels.check(session, changes, current)
            client = clients.update_client(session, client_id=client_id, changes=changes)
            client_channels.assign(client, checked)
            session.flush()
    except (ValidationError, ConflictError) as exc:
        status = 409 if isinstance(exc, ConflictError) else 422
        errors = {"details": error_text(exc, translate)}
        return _page(request, runtime, visitor, client_id, errors=errors, status_code=status)
    return redirect(f"/clients/{client_id}?done=saved")


@router.post(PAGE + "/contacts", response_model=None)
def add_contact(
    request: Request, client_id: int, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    values = _texts(form, _CONTACT)
    translate = Translator(visitor.language)
    error: str | None = None
    if not _PHONE.match(values["phone"]):
        error = translate(ERROR_TEXTS["invalid_phone"])
    else:
        try:
            with tenant_work(runtime, visitor) as (session, _actor):
                clients.get_client(session, client_id)
                contacts.create_contact(
                    session,
                    email=values["email"],
                    name=values["name"],
                    phone=values["phone"] or None,
                    client_id=client_id,
                )
        except (ValidationError, ConflictError) as exc:
            error = error_text(exc, translate)
    if error is not None:
        return _page(
            request,
            runtime,
            visitor,
            client_id,
            errors={"contact": error},
            values={f"contact_{k}": v for k, v in values.items()},
            status_code=422,
        )
    return redirect(f"/clients/{client_id}?done=contact#contacts")


@router.post(PAGE + "/contacts/{contact_id}/push-link", response_model=None)
def make_push_link(
    client_id: int, contact_id: int, _form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """A new Web Push link for one of this client's contacts (the old link stops working)."""
    with tenant_work(runtime, visitor) as (session, _actor):
        contact = contacts.get_contact(session, contact_id)
        if contact.client_id != client_id:
            raise NotFoundError(f"Contact {contact_id} does not exist.")
        push_subscriptions.make_portal_token(session, contact_id=contact_id)
    return redirect(f"/clients/{client_id}?done=link#contacts")


def _override(form: Any, kind: ReminderKind) -> ReminderOverride:
    switch = str(form.get(f"{kind.value}_enabled") or "")
    return ReminderOverride(
        enabled={"on": True, "off": False}.get(switch),
        days_before=optional_int(form.get(f"{kind.value}_days_before")),
        day_of_month=optional_int(form.get(f"{kind.value}_day_of_month")),
    )


@router.post(PAGE + "/reminders", response_model=None)
def save_reminders(
    request: Request, client_id: int, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """The client's own setting per kind; "as the office" (empty) inherits the default."""
    try:
        with tenant_work(runtime, visitor) as (session, _actor):
            for kind in ReminderKind:
                reminder_settings.set_client_override(
                    session, client_id=client_id, kind=kind, override=_override(form, kind)
                )
    except ValidationError as exc:
        errors = {"reminders": error_text(exc, Translator(visitor.language))}
        return _page(request, runtime, visitor, client_id, errors=errors, status_code=422)
    return redirect(f"/clients/{client_id}?done=reminders#reminders")


@router.post(PAGE + "/notify", response_model=None)
def send_message(
    request: Request, client_id: int, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """notify_client over every enabled channel; the page then shows each channel's outcome."""
    values = _texts(form, _MESSAGE)
    translate = Translator(visitor.language)
    if not values["subject"] or not values["text"]:
        errors = {"notify": translate(ERROR_TEXTS["subject_required"])}
        return _page(
            request, runtime, visitor, client_id, errors=errors, values=values, status_code=422
        )
    batch_key = uuid.uuid4().hex
    message = client_notify.ClientMessage(
        subject=values["subject"], text=values["text"], sms_text=values["sms_text"] or None
    )
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            client = clients.get_client(session, client_id)
            client_notify.require_some_channel(client)
            client_notify.notify_client(
                session,
                runtime=runtime,
                client=client,
                message=message,
                source=client_notify.SOURCE_NOTIFY,
                actor=actor,
                batch_key=batch_key,
            )
    except (ValidationError, ConflictError) as exc:
        status = 409 if isinstance(exc, ConflictError) else 422
        errors = {"notify": error_text(exc, translate)}
        return _page(
            request, runtime, visitor, client_id, errors=errors, values=values, status_code=status
        )
    return redirect(f"/clients/{client_id}?done=sent&sent={batch_key}#outcome")


@router.post(PAGE + "/sms-estimate", response_model=None)
def sms_estimate(
    request: Request, client_id: int, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """The SMS text's encoding, parts and cost while it is typed (htmx)."""
    text = str(form.get("sms_text") or "")
    context: dict[str, Any] = {"estimate": None, "plain": None, "estimate_error": None}
    with tenant_work(runtime, visitor) as (session, _actor):
        clients.get_client(session, client_id)
    if text:
        try:
            context["estimate"], context["plain"] = sms_office.estimate(
                text, settings=runtime.settings
            )
        except ValidationError as exc:
            context["estimate_error"] = error_text(exc, Translator(visitor.language))
    return render(request, "client_sms_estimate.html", context)


@router.get(PAGE + "/history", response_model=None)
def history(request: Request, client_id: int, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    """The history block alone: it asks for itself while a message is queued."""
    with tenant_work(runtime, visitor) as (session, _actor):
        client = clients.get_client(session, client_id)
        context = {**labels(), **history_context(session, client_id), "client": client}
        return render(request, "client_history.html", context)
