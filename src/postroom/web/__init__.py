"""The server-rendered web UI: Jinja2 pages with htmx, in Polish and English."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from postroom.services.runtime import Runtime
from postroom.web import routes_account_form, routes_account_setup, routes_accounts, routes_auth
from postroom.web.errors import install_error_pages
from postroom.web.routes_compose import router as compose_router
from postroom.web.routes_outbox import router as outbox_router

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_web_app(runtime: Runtime, *, lifespan: Lifespan | None = None) -> FastAPI:
    """The web UI; app.py mounts the REST API under /api/v1 on it."""
    app = FastAPI(
        title="Postroom",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.runtime = runtime
    static_dir = resources.files("postroom.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")
    app.include_router(routes_auth.router)
    app.include_router(routes_accounts.router)
    # Before the account form: "/accounts/new/…" must not be read as an account id.
    app.include_router(routes_account_setup.router)
    app.include_router(routes_account_form.router)
    app.include_router(compose_router)
    app.include_router(outbox_router)
    install_error_pages(app)
    return app
