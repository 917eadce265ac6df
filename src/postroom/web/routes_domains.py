"""Sender domains for the platform relay: add one, see the DKIM record to publish, verify it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from postroom.errors import ConflictError, PermissionDeniedError, ValidationError
from postroom.services import sender_domains
from postroom.services.runtime import Runtime
from postroom.web.auth import (
    CheckedForm,
    RuntimeDep,
    Visitor,
    VisitorDep,
    tenant_work,
    transactions,
)
from postroom.web.deliverability_view import sender_domain_view
from postroom.web.i18n import N_, Translator
from postroom.web.rendering import redirect, render

router = APIRouter()

PAGE = "/domains"
NOTICES = {
    "added": N_("Domain added. Publish the record below in your domain's DNS, then verify."),
    "verified": N_("The record is published: relay mail from this domain is now signed."),
    "not_verified": N_(
        "The record was not found yet. DNS changes can take up to an hour to show; verify again "
        "later."
    ),
    "deleted": N_("Domain removed. Relay mail from it goes out via the platform again."),
}
ERRORS = {
    "invalid_domain": N_(
        "This is not a domain name: give the part of your address after the @, e.g. "
        "biuro-kowalski.pl."
    ),
    "domain_exists": N_("The company has this domain already."),
    "forbidden": N_("Only a company administrator may add sender domains."),
}


def _rows(visitor: Visitor, runtime: Runtime, translate: Translator) -> list[dict[str, Any]]:
    with tenant_work(runtime, visitor) as (session, _actor):
        rows = [sender_domains.public_view(r) for r in sender_domains.list_domains(session)]
    for row in rows:
        row["check_view"] = sender_domain_view(row["last_check"], translate)
    return rows


def _page(
    request: Request,
    visitor: Visitor,
    runtime: Runtime,
    *,
    error: str | None = None,
    value: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    translate = Translator(visitor.language)
    done = request.query_params.get("done", "")
    notice = NOTICES.get(done)
    context = {
        "domains": _rows(visitor, runtime, translate),
        "notice": translate(notice) if notice else None,
        "notice_warns": done == "not_verified",
        "error": error,
        "value": value,
        "relay_configured": bool(runtime.settings.relay_host),
    }
    return render(request, "sender_domains.html", context, status_code=status_code)


@router.get(PAGE, response_model=None)
def domains_page(request: Request, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    return _page(request, visitor, runtime)


@router.post(PAGE, response_model=None)
def add_domain(
    request: Request, form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    value = str(form.get("domain") or "")
    try:
        with tenant_work(runtime, visitor) as (session, actor):
            sender_domains.add_domain(
                session,
                actor=actor,
                domain=value,
                box=runtime.secret_box,
                selector=runtime.settings.dkim_selector,
            )
    except (ValidationError, ConflictError, PermissionDeniedError) as exc:
        code = exc.problems[0].code if isinstance(exc, ValidationError) else exc.code
        error = Translator(visitor.language)(ERRORS.get(code, ERRORS["invalid_domain"]))
        status = 403 if isinstance(exc, PermissionDeniedError) else 422
        return _page(request, visitor, runtime, error=error, value=value, status_code=status)
    return redirect(f"{PAGE}?done=added")


@router.post(PAGE + "/{domain_id}/verify", response_model=None)
def verify_domain(
    domain_id: int, _form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    result = sender_domains.verify_domain(
        transactions(runtime, visitor), runtime, domain_id=domain_id
    )
    return redirect(f"{PAGE}?done={'verified' if result.verified else 'not_verified'}")


@router.post(PAGE + "/{domain_id}/delete", response_model=None)
def delete_domain(
    domain_id: int, _form: CheckedForm, visitor: VisitorDep, runtime: RuntimeDep
) -> Response:
    with tenant_work(runtime, visitor) as (session, actor):
        sender_domains.delete_domain(session, actor=actor, domain_id=domain_id)
    return redirect(f"{PAGE}?done=deleted")
