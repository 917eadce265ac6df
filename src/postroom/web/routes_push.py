"""The public Web Push page behind a contact's push link (/push/{token}) and its service worker.

As with the unsubscribe page (routes_public.py), the token in the path is the credential: it
names one contact person, and these routes only add or remove that contact's browser
subscriptions. The subscription is posted as JSON by the page's script: a cross-site page
cannot send that content type without a CORS preflight, which this app never answers, so no
CSRF token is needed. An unknown token is a plain 404, the same for every company.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from postroom.db.models import Company
from postroom.db.models_crm import Contact
from postroom.enums import Language
from postroom.errors import ConflictError, NotFoundError, ValidationError
from postroom.mail.netguard import NetworkPolicy, parse_networks
from postroom.services import push_subscriptions, vapid_keys
from postroom.services.push_subscriptions import PortalOwner
from postroom.services.runtime import Runtime
from postroom.web.auth import RuntimeDep
from postroom.web.i18n import parse_language
from postroom.web.rendering import render

router = APIRouter()
SERVICE_WORKER_PATH = "/push-sw.js"
_MAX_BODY = 8192  # a PushSubscription's JSON is well under 1 KiB


def _language(request: Request) -> Language:
    """The contact has no language setting: ?lang= (the office may put it in the link), else
    the browser's first language; Polish unless English is asked for."""
    chosen = parse_language(request.query_params.get("lang"))
    if chosen is not None:
        return chosen
    wanted = request.headers.get("accept-language", "").split(",")[0].strip().lower()
    return Language.EN if wanted.startswith("en") else Language.PL


def _owner(runtime: Runtime, token: str) -> PortalOwner:
    owner = push_subscriptions.owner_of(runtime, token)
    if owner is None:
        raise NotFoundError("This link is not valid.")
    return owner


def _problem(
    status: int, code: str, detail: str, errors: list[dict[str, str]] | None = None
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "status": status, "code": code, "detail": detail}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


@router.get("/push/{token}", response_model=None)
def push_page(request: Request, token: str, runtime: RuntimeDep) -> Response:
    """What the notifications are, and a button that turns them on in this browser."""
    owner = _owner(runtime, token)
    with runtime.tenant(owner.company_id) as session:
        company = session.get(Company, owner.company_id)
        contact = session.get(Contact, owner.contact_id)
        company_name = company.name if company is not None else ""
        contact_name = (contact.name or contact.email) if contact is not None else ""
    context = {
        "company_name": company_name,
        "contact_name": contact_name,
        "token": token,
        "vapid_public_key": vapid_keys.public_key(runtime),
        "service_worker": SERVICE_WORKER_PATH,
    }
    return render(request, "public_push.html", context, language=_language(request))


async def _json_body(request: Request) -> Any:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ValidationError.for_field(
            "body", "Send the subscription as application/json.", "invalid_body"
        )
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise ValidationError.for_field("body", "The subscription is too large.", "invalid_body")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ValidationError.for_field("body", "The body is not JSON.", "invalid_body") from exc


def _invalid(exc: ValidationError) -> Response:
    errors = [{"field": p.field, "code": p.code, "message": p.message} for p in exc.problems]
    code = exc.problems[0].code if exc.problems else exc.code
    return _problem(422, code, exc.message, errors)


@router.post("/push/{token}/subscriptions", response_model=None)
async def subscribe(request: Request, token: str, runtime: RuntimeDep) -> Response:
    """Store the browser's PushSubscription (its `toJSON()`) for the link's contact."""
    owner = await run_in_threadpool(push_subscriptions.owner_of, runtime, token)
    if owner is None:
        return _problem(404, "not_found", "This link is not valid.")
    try:
        data = await _json_body(request)
    except ValidationError as exc:
        return _invalid(exc)
    policy = NetworkPolicy(parse_networks(runtime.settings.allowed_networks))
    agent = request.headers.get("user-agent", "")

    def save() -> Response:
        try:
            with runtime.tenant(owner.company_id) as session:
                row = push_subscriptions.subscribe(
                    session, owner, data, policy=policy, user_agent=agent
                )
                session.flush()
                subscription_id = row.id
        except ValidationError as exc:
            return _invalid(exc)
        except ConflictError as exc:
            return _problem(409, exc.code, exc.message)
        return JSONResponse({"id": subscription_id}, status_code=201)

    return await run_in_threadpool(save)


@router.delete("/push/{token}/subscriptions", response_model=None)
async def unsubscribe(request: Request, token: str, runtime: RuntimeDep) -> Response:
    """Forget this browser's subscription (the page's "turn off" button): {"endpoint": …}."""
    owner = await run_in_threadpool(push_subscriptions.owner_of, runtime, token)
    if owner is None:
        return _problem(404, "not_found", "This link is not valid.")
    try:
        data = await _json_body(request)
    except ValidationError as exc:
        return _invalid(exc)
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str):
        return _problem(422, "invalid_endpoint", "Send the subscription's endpoint.")

    def forget() -> bool:
        with runtime.tenant(owner.company_id) as session:
            return push_subscriptions.unsubscribe(session, owner, endpoint)

    await run_in_threadpool(forget)
    return Response(status_code=204)


_WORKER = resources.files("postroom.web").joinpath("static/push-sw.js")


@router.get(SERVICE_WORKER_PATH, response_model=None)
def service_worker() -> Response:
    """Served from the root so its scope may cover /push/{token} (a script's default maximum
    scope is its own directory); no-cache so browsers pick up a new version at once."""
    return Response(
        _WORKER.read_text(encoding="utf-8"),
        media_type="text/javascript",
        headers={
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'self'",
        },
    )
