"""Request dependencies: who is calling (bearer token) and a transaction scoped to their company."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.db.tenancy import rescope
from postroom.errors import AuthenticationError, NotFoundError
from postroom.services.runtime import Runtime
from postroom.services.tokens import resolve_token

bearer = HTTPBearer(
    auto_error=False,
    description="A user's API token (pr_…), from `postroom token create` or POST /tokens.",
)


@dataclass(frozen=True)
class Tx:
    """One request's transaction: the session (confined to the caller's company) and the caller."""

    session: Session
    actor: User


@dataclass(frozen=True)
class Caller:
    runtime: Runtime
    token: str | None

    @contextmanager
    def begin(self) -> Iterator[Tx]:
        """Authenticate and open the transaction; it commits before the response is sent."""
        if not self.token:
            raise AuthenticationError("Send an API token: Authorization: Bearer <token>.")
        with self.runtime.platform() as session:
            try:
                actor = resolve_token(session, self.token)
            except NotFoundError as exc:
                raise AuthenticationError("The API token is unknown or revoked.") from exc
            rescope(session, actor.company_id)
            yield Tx(session=session, actor=actor)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    return Caller(
        runtime=get_runtime(request), token=credentials.credentials if credentials else None
    )


def require_platform(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Runtime:
    """Only the host application, with the platform token from configuration."""
    runtime = get_runtime(request)
    configured = runtime.settings.platform_token
    presented = credentials.credentials if credentials else ""
    if configured is None or not hmac.compare_digest(
        presented.encode(), configured.get_secret_value().encode()
    ):
        raise AuthenticationError(
            "This needs the platform token (POSTROOM_PLATFORM_TOKEN) as the bearer token."
        )
    return runtime


CallerDep = Annotated[Caller, Depends(get_caller)]
PlatformDep = Annotated[Runtime, Depends(require_platform)]
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many items.")]
Offset = Annotated[int, Query(ge=0, description="Skip this many items.")]
