"""The client list (F1, F2): search, paging, each client's channel switches toggled in place,
one channel switched for many clients at once, and adding a client."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from postroom.enums import Channel
from postroom.errors import ConflictError, ValidationError
from postroom.services import client_channels, clients, sms_office
from postroom.services.runtime import Runtime
from postroom.web.auth import CheckedForm, RuntimeDep, Visitor, VisitorDep, tenant_work
from postroom.web.clients_view import ERROR_TEXTS, error_text, labels, switches
from postroom.web.i18n import N_, Translator
from postroom.web.rendering import redirect, render

router = APIRouter()

PAGE = "/clients"
PAGE_SIZE = 25
NOTICES = {
    "bulk": N_("The channel was switched for the selected clients."),
}
NO_SELECTION = N_("Select at least one client first.")


def _list_context(runtime: Runtime, visitor: Visitor, query: str, page: int) -> dict[str, Any]:
    with tenant_work(runtime, visitor) as (session, _actor):
        rows, total = clients.list_clients(
            session, query=query or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        items = [(client, switches(client)) for client in rows]
        sms_on = sms_office.sms_enabled(session)
    return {
        **labels(),
        "items": items,
        "total": total,
        "page": page,
        "query": query,
        "has_next": page * PAGE_SIZE < total,
        "sms_on": sms_on,
        "channels": list(Channel),
    }


def _list_page(
    request: Request,
    runtime: Runtime,
    visitor: Visitor,
    *,
    error: str | None = None,
    new_values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    query = request.query_params.get("q", "")[:200]
    raw_page = request.query_params.get("page", "1")
    page = int(raw_page) if raw_page.isdigit() else 1
    context = _list_context(runtime, visitor, query, max(page, 1))
    notice = NOTICES.get(request.query_params.get("done", ""))
    translate = Translator(visitor.language)
    context |= {
        "notice": translate(notice) if notice else None,
        "error": error,
        "new_values": new_values or {"name": "", "domain": "", "tax_id": ""},
    }
    return render(request, "clients.html", context, status_code=status_code)


@router.get(PAGE, response_model=None)
def clients_page(request: Request, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    return _list_page(request, runtime, visitor)


@router.post(PAGE, response_model=None)
def add_client(
    request: Request, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """A new client has only in-app and Web Push on (F1): the model's defaults."""
    values = {name: str(form.get(name) or "").strip() for name in ("name", "domain", "tax_id")}
    translate = Translator(visitor.language)
    if not values["name"]:
        error = translate(ERROR_TEXTS["name_required"])
        return _list_page(
            request, runtime, visitor, error=error, new_values=values, status_code=422
        )
    try:
        with tenant_work(runtime, visitor) as (session, _actor):
            client = clients.create_client(
                session, name=values["name"], domain=values["domain"], tax_id=values["tax_id"]
            )
            client_id = client.id
    except (ValidationError, ConflictError) as exc:
        status = 409 if isinstance(exc, ConflictError) else 422
        return _list_page(
            request,
            runtime,
            visitor,
            error=error_text(exc, translate),
            new_values=values,
            status_code=status,
        )
    return redirect(f"{PAGE}/{client_id}")


# Before "/clients/{client_id}/…": "channels" is not a client id.
@router.post(PAGE + "/channels", response_model=None)
def bulk_channel(
    request: Request, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    """One channel on or off for the selected clients: all of them, or none when refused."""
    translate = Translator(visitor.language)
    ids = [int(v) for v in map(str, form.getlist("ids")) if v.isdigit()]
    try:
        channel = Channel(str(form.get("channel") or ""))
    except ValueError:
        channel = None
    if not ids or channel is None:
        return _list_page(request, runtime, visitor, error=translate(NO_SELECTION), status_code=422)
    try:
        with tenant_work(runtime, visitor) as (session, _actor):
            client_channels.set_channel(
                session, client_ids=ids, channel=channel, enabled=form.get("enabled") == "1"
            )
    except ConflictError as exc:
        return _list_page(
            request, runtime, visitor, error=error_text(exc, translate), status_code=409
        )
    return redirect(f"{PAGE}?done=bulk")


@router.post(PAGE + "/{client_id}/channels/{channel}", response_model=None)
def toggle_channel(
    request: Request,
    client_id: int,
    channel: Channel,
    form: CheckedForm,
    visitor: VisitorDep,
    runtime: RuntimeDep,
) -> Response:
    """One switch, from the list or the client page (htmx): the switches come back, with the
    service's sentence when it refused (SMS while the office's SMS is off)."""
    translate = Translator(visitor.language)
    enabled = form.get("enabled") == "1"
    error: str | None = None
    try:
        with tenant_work(runtime, visitor) as (session, _actor):
            client = clients.get_client(session, client_id)
            client_channels.apply(session, client, {client_channels.SWITCHES[channel]: enabled})
    except (ConflictError, ValidationError) as exc:
        error = error_text(exc, translate)
    return _switches_fragment(request, runtime, visitor, client_id, error)


def _switches_fragment(
    request: Request, runtime: Runtime, visitor: Visitor, client_id: int, error: str | None
) -> Response:
    with tenant_work(runtime, visitor) as (session, _actor):
        client = clients.get_client(session, client_id)
        context = {"client": client, "switches": switches(client), "switch_error": error}
        response = render(request, "client_switches.html", context)
    if error is not None:
        response.status_code = 409
    return response
