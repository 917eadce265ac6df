"""The only place errors become HTTP: RFC 9457 problem+json with a stable code."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from postroom.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    PostroomError,
    SendingRefusedError,
    ValidationError,
)
from postroom.services.account_test import AccountTestFailedError

log = logging.getLogger("postroom.api")
PROBLEM_JSON = "application/problem+json"

_STATUS = {
    NotFoundError: 404,
    PermissionDeniedError: 403,
    AuthenticationError: 401,
    ConflictError: 409,
    ValidationError: 422,
    SendingRefusedError: 403,  # a rule of B1–B6 forbids this send; `code` says which
}
_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Invalid input",
    500: "Internal error",
}


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"urn:postroom:problem:{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _status_of(exc: PostroomError) -> int:
    for kind, status in _STATUS.items():
        if isinstance(exc, kind):
            return status
    return 400


async def _postroom_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PostroomError)
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationError):
        extra["errors"] = [
            {"field": p.field, "message": p.message, "code": p.code} for p in exc.problems
        ]
    if isinstance(exc, AccountTestFailedError):
        extra["report"] = exc.report  # which step failed, the server's words, what to try
    return problem(_status_of(exc), exc.code, exc.message, **extra)


def _field_path(loc: tuple[Any, ...]) -> str:
    # ("body", "smtp_port") -> "smtp_port"; ("query", "limit") -> "limit"
    parts = [str(part) for part in loc[1:]] if loc and loc[0] in {"body", "query", "path"} else []
    return ".".join(parts) or ".".join(str(part) for part in loc)


async def _request_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The submitted values ("input") are never echoed: they may hold a password.
    errors = [
        {
            "field": _field_path(tuple(err.get("loc", ()))),
            "message": str(err.get("msg", "invalid value")).removeprefix("Value error, "),
            "code": str(err.get("type", "invalid")),
        }
        for err in exc.errors()
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem(422, "validation_failed", f"The request is not valid: {summary}", errors=errors)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return problem(exc.status_code, code, str(exc.detail))


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return problem(500, "internal_error", "Something went wrong on our side; it has been logged.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PostroomError, _postroom_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
