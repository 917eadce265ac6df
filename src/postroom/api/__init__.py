"""REST API v1: one router per resource, problem+json errors, bearer tokens."""

from __future__ import annotations

from fastapi import FastAPI

from postroom import __version__
from postroom.api.errors import install_error_handlers
from postroom.api.routes import (
    accounts,
    autoconfig,
    companies,
    drafts,
    files,
    groups,
    messages,
    oauth,
    projects,
    senders,
    users,
)
from postroom.services.runtime import Runtime


def create_api_app(runtime: Runtime) -> FastAPI:
    """The API, mounted at /api/v1 by the application (OpenAPI at /api/v1/openapi.json)."""
    app = FastAPI(
        title="Postroom API",
        version=__version__,
        description="Mail accounts, users, groups and projects of a company. Errors are "
        "RFC 9457 problem+json with a stable `code`.",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    for module in (companies, users, groups, projects, accounts, oauth, autoconfig, senders):
        app.include_router(module.router)
    for module in (messages, files, drafts):
        app.include_router(module.router)
    return app
