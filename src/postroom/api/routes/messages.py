"""Messages (C1, C3, C5): submit to the outbox (JSON or multipart), status, list, raw MIME."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from postroom.api.deps import Caller, CallerDep, Limit, Offset
from postroom.api.schemas import Page
from postroom.api.schemas_messages import (
    MessageAccepted,
    MessageBatchAccepted,
    MessagePublic,
    MessageSummary,
)
from postroom.config import Settings
from postroom.enums import DocumentKind, MessageStatus
from postroom.errors import ValidationError
from postroom.services import message_batch, messages
from postroom.services.message_schemas import MessageBatchCreate, MessageCreate

router = APIRouter(tags=["messages"])

_FORM_FIELDS = {"message", "files"}
_MAX_FILE_PARTS = 100


def _request_body_doc() -> dict[str, Any]:
    schema = MessageCreate.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)  # the same models are in the components (drafts use them)
    form = {
        "type": "object",
        "required": ["message"],
        "properties": {
            "message": {"type": "string", "description": "The JSON body, as one form field."},
            "files": {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "description": "Files to attach after the `attachments`; errors name them "
                "files[0], files[1], …",
            },
        },
    }
    content = {"application/json": {"schema": schema}, "multipart/form-data": {"schema": form}}
    return {"requestBody": {"required": True, "content": content}}


def _invalid_body(exc: pydantic.ValidationError) -> RequestValidationError:
    errors = [
        {**error, "loc": ("body", *error["loc"])}
        for error in exc.errors(include_input=False, include_url=False)
    ]
    return RequestValidationError(errors)


def _parse(raw: bytes | str) -> MessageCreate:
    try:
        return MessageCreate.model_validate_json(raw)
    except pydantic.ValidationError as exc:
        raise _invalid_body(exc) from exc


def _check_length(request: Request, settings: Settings) -> None:
    declared = request.headers.get("content-length", "")
    # Attachments arrive base64-free in a form, so a message's limit bounds the request.
    if declared.isdigit() and int(declared) > settings.max_message_bytes:
        raise ValidationError.for_field(
            "body", "The request is larger than the largest message allowed.", "too_large"
        )


async def _read_upload(upload: UploadFile, index: int, limit: int) -> messages.InlineAttachment:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError.for_field(
            f"files[{index}]", f"The file is larger than {limit} bytes.", "too_large"
        )
    return messages.InlineAttachment(upload.filename or "", upload.content_type, data)


async def _from_form(
    form: FormData, settings: Settings
) -> tuple[MessageCreate, list[messages.InlineAttachment]]:
    unknown = sorted(set(form.keys()) - _FORM_FIELDS)
    if unknown:
        raise ValidationError.for_field(unknown[0], "Send only `message` and `files` parts.")
    part = form.get("message")
    if part is None:
        raise ValidationError.for_field("message", "The `message` part (JSON) is missing.")
    try:
        text = part if isinstance(part, str) else (await part.read()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError.for_field("message", "The `message` part is not UTF-8.") from exc
    uploads = []
    for index, item in enumerate(form.getlist("files")):
        if isinstance(item, str):
            raise ValidationError.for_field(f"files[{index}]", "Send a file, not a text field.")
        uploads.append(await _read_upload(item, index, settings.max_attachment_bytes))
    return _parse(text), uploads


def _submit(
    caller: Caller,
    body: MessageCreate,
    uploads: list[messages.InlineAttachment],
    key: str | None,
) -> MessageAccepted:
    with caller.begin() as tx:
        row = messages.submit_message(
            tx.session,
            actor=tx.actor,
            request=body,
            runtime=caller.runtime,
            uploads=uploads,
            idempotency_key=key,
        )
        return MessageAccepted.model_validate(row)


def _authenticate(caller: Caller) -> None:
    with caller.begin():
        pass


@router.post(
    "/messages",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageAccepted,
    openapi_extra=_request_body_doc(),
    responses={
        403: {"description": "A sending rule refuses it; `code` says which (B5, B6)."},
        422: {"description": "`errors[].field` names each field at fault: to[2], subject, …"},
    },
)
async def submit_message(
    request: Request,
    caller: CallerDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> MessageAccepted:
    """Queue a message. It is committed to the outbox, with its whole MIME, before the answer;
    the worker sends it. JSON, or multipart/form-data with the JSON in a `message` part and
    files in `files` parts. The same Idempotency-Key returns the same message."""
    settings = caller.runtime.settings
    _check_length(request, settings)
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        await run_in_threadpool(_authenticate, caller)  # before a large body is read
        limits = {"max_files": _MAX_FILE_PARTS, "max_part_size": settings.max_message_bytes}
        async with request.form(**limits) as form:
            body, uploads = await _from_form(form, settings)
    elif kind == "application/json":
        body, uploads = _parse(await request.body()), []
    else:
        raise HTTPException(415, "Send application/json or multipart/form-data.")
    return await run_in_threadpool(_submit, caller, body, uploads, idempotency_key)


def _batch_loc(loc: tuple[int | str, ...]) -> tuple[str, ...]:
    """("items", 3, "to", 2) → ("items[3]", "to[2]"): the error names `items[3].to[2]`."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int) and parts:
            parts[-1] += f"[{part}]"
        else:
            parts.append(str(part))
    return tuple(parts)


def _parse_batch(raw: bytes) -> MessageBatchCreate:
    try:
        return MessageBatchCreate.model_validate_json(raw)
    except pydantic.ValidationError as exc:
        errors = [
            {**error, "loc": ("body", *_batch_loc(error["loc"]))}
            for error in exc.errors(include_input=False, include_url=False)
        ]
        raise RequestValidationError(errors) from exc


def _submit_batch(caller: Caller, body: MessageBatchCreate) -> MessageBatchAccepted:
    with caller.begin() as tx:
        rows = message_batch.submit_messages(
            tx.session, actor=tx.actor, requests=body.items, runtime=caller.runtime
        )
        return MessageBatchAccepted(items=[MessageAccepted.model_validate(row) for row in rows])


def _batch_body_doc() -> dict[str, Any]:
    schema = MessageBatchCreate.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    # Each item is the body of POST /messages, inline: MessageCreate is not a component.
    schema["properties"]["items"]["items"] = _request_body_doc()["requestBody"]["content"][
        "application/json"
    ]["schema"]
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.post(
    "/messages/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageBatchAccepted,
    openapi_extra=_batch_body_doc(),
    responses={
        403: {"description": "A sending rule refuses an item; the detail names it: items[3]."},
        422: {"description": "`errors[].field` names each field at fault: items[3].to[2], …"},
    },
)
async def submit_message_batch(request: Request, caller: CallerDep) -> MessageBatchAccepted:
    """Queue up to 500 messages at once, each with the fields of POST /messages (JSON; files
    by reference), in one transaction: all are committed before the answer, or none is. The
    problems of every item come back together, named `items[i].field`. Each item may carry
    its own `idempotency_key`; one used before gives back its message."""
    _check_length(request, caller.runtime.settings)
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(415, "Send application/json.")
    if "idempotency-key" in request.headers:
        raise ValidationError.for_field(
            "Idempotency-Key",
            "A batch takes no Idempotency-Key header: give each item its own idempotency_key.",
            "per_item_keys",
        )
    body = _parse_batch(await request.body())
    return await run_in_threadpool(_submit_batch, caller, body)


@router.get("/messages", response_model=Page[MessageSummary])
def list_messages(
    caller: CallerDep,
    status_filter: Annotated[MessageStatus | None, Query(alias="status")] = None,
    account_id: int | None = None,
    project_id: int | None = None,
    document_kind: DocumentKind | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[MessageSummary]:
    """The messages the caller may see, newest first."""
    filters = messages.MessageFilter(
        status=status_filter,
        account_id=account_id,
        project_id=project_id,
        document_kind=document_kind,
    )
    with caller.begin() as tx:
        rows, total = messages.list_messages(
            tx.session, actor=tx.actor, filters=filters, limit=limit, offset=offset
        )
        items = [MessageSummary.model_validate(row) for row in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/messages/{message_id}", response_model=MessagePublic)
def get_message(message_id: int, caller: CallerDep) -> MessagePublic:
    """Status, recipients with the server's answer to each, and every attempt (C3)."""
    with caller.begin() as tx:
        row = messages.get_message(tx.session, actor=tx.actor, message_id=message_id)
        return MessagePublic.model_validate(row)


@router.get(
    "/messages/{message_id}/raw",
    response_class=Response,
    responses={200: {"content": {"message/rfc822": {}}, "description": "The MIME as sent."}},
)
def get_raw_message(message_id: int, caller: CallerDep) -> Response:
    """The message exactly as it is (or was) handed to the server."""
    with caller.begin() as tx:
        row = messages.get_message(tx.session, actor=tx.actor, message_id=message_id)
        raw = row.body.mime
    disposition = f'attachment; filename="message-{message_id}.eml"'
    return Response(raw, media_type="message/rfc822", headers={"Content-Disposition": disposition})
