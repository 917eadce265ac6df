"""SMS: the office's switch with cost acceptance, estimates, message status, and the public
delivery-report callbacks of the providers (docs/sms.md)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import PlainTextResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from postroom.api.deps import CallerDep, get_runtime
from postroom.api.schemas_sms import (
    SmsCostPublic,
    SmsEstimatePublic,
    SmsEstimateRequest,
    SmsOfficePublic,
    SmsOfficeUpdate,
    SmsPublic,
)
from postroom.db.models import User
from postroom.db.models_channels import SmsMessage
from postroom.notify.sms.base import CallbackError, ProviderName
from postroom.notify.sms.smsapi import CALLBACK_ANSWER
from postroom.services import sms_callbacks, sms_office
from postroom.services.guards import get_or_404
from postroom.services.sms_office import SmsOfficeState

router = APIRouter(tags=["sms"])
_MAX_CALLBACK_BYTES = 64 * 1024


def _public(session: Session, state: SmsOfficeState) -> SmsOfficePublic:
    acceptance = state.acceptance
    ids = {acceptance.accepted_by_user_id, acceptance.revoked_by_user_id} if acceptance else set()
    wanted = [user_id for user_id in ids if user_id is not None]
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))}
    return SmsOfficePublic.build(state, users)


@router.get("/office/sms", response_model=SmsOfficePublic)
def get_office_sms(caller: CallerDep) -> SmsOfficePublic:
    """Whether the office sends SMS, who accepted which price list when, the sender name."""
    with caller.begin() as tx:
        state = sms_office.sms_state(tx.session, settings=caller.runtime.settings)
        return _public(tx.session, state)


@router.put("/office/sms", response_model=SmsOfficePublic)
def update_office_sms(body: SmsOfficeUpdate, caller: CallerDep) -> SmsOfficePublic:
    """Administrators only. `{"enabled": true, "accept_price_list": "<name>"}` turns SMS on
    accepting that (current) price list; `{"enabled": false}` turns it off."""
    settings = caller.runtime.settings
    with caller.begin() as tx:
        session, actor = tx.session, tx.actor
        state = sms_office.sms_state(session, settings=settings)
        if "sender_name" in body.model_fields_set:
            state = sms_office.set_sender_name(
                session, actor=actor, settings=settings, sender_name=body.sender_name
            )
        if body.enabled is True:
            state = sms_office.enable_sms(
                session, actor=actor, settings=settings, accept_price_list=body.accept_price_list
            )
        elif body.enabled is False:
            state = sms_office.disable_sms(session, actor=actor, settings=settings)
        return _public(session, state)


@router.post("/sms/estimate", response_model=SmsEstimatePublic)
def estimate_sms(body: SmsEstimateRequest, caller: CallerDep) -> SmsEstimatePublic:
    """Encoding, parts and cost of a text, and of the same text without Polish letters."""
    with caller.begin():
        written, plain = sms_office.estimate(body.text, settings=caller.runtime.settings)
    base = SmsCostPublic.build(written)
    alternative = SmsCostPublic.build(plain) if plain is not None else None
    return SmsEstimatePublic(**base.model_dump(), transliterated=alternative)


@router.get("/sms/{sms_id}", response_model=SmsPublic)
def get_sms(sms_id: int, caller: CallerDep) -> SmsPublic:
    with caller.begin() as tx:
        return SmsPublic.model_validate(get_or_404(tx.session, SmsMessage, sms_id, "SMS"))


async def _body(request: Request) -> str:
    """The form body of a callback, read up to a bound: a report is a few hundred bytes, and
    these URLs are public."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_CALLBACK_BYTES:
            raise CallbackError("A delivery report is a few hundred bytes; this one is too big.")
    return body.decode("utf-8", "replace")


async def _params(request: Request) -> dict[str, str]:
    """Query and form parameters of a callback, the form winning (the last value of a repeated
    name; providers send each once)."""
    params = dict(request.query_params)
    if request.method == "POST":
        params |= dict(parse_qsl(await _body(request)))
    return params


@router.api_route(
    "/sms/callbacks/smsapi/{path_token}",
    methods=["GET", "POST"],
    response_class=PlainTextResponse,
    include_in_schema=False,
)
async def smsapi_callback(path_token: str, request: Request) -> PlainTextResponse:
    """SMSAPI's delivery reports ("Raporty Callback"); it wants "OK" back."""
    runtime = get_runtime(request)
    sms_callbacks.check_smsapi_path(runtime.settings, path_token)
    reports = sms_callbacks.parse_smsapi(await _params(request))
    await run_in_threadpool(sms_callbacks.apply_reports, runtime, ProviderName.SMSAPI, reports)
    return PlainTextResponse(CALLBACK_ANSWER)


@router.post("/sms/callbacks/twilio", include_in_schema=False)
async def twilio_callback(
    request: Request,
    signature: Annotated[str | None, Header(alias="X-Twilio-Signature")] = None,
) -> Response:
    """Twilio's status callbacks, signed with the auth token (a bad signature is a 403)."""
    runtime = get_runtime(request)
    pairs = parse_qsl(await _body(request), keep_blank_values=True)
    query = request.url.query
    sms_callbacks.check_twilio_signature(runtime.settings, query, pairs, signature)
    reference = request.query_params.get("ref")
    report = sms_callbacks.parse_twilio(dict(pairs), reference)
    await run_in_threadpool(sms_callbacks.apply_reports, runtime, ProviderName.TWILIO, [report])
    return Response(status_code=204)
