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
from postroom.web.routes_campaign_steps import router as campaign_steps_router
from postroom.web.routes_campaign_wizard import router as campaign_wizard_router
from postroom.web.routes_campaigns import router as campaigns_router
from postroom.web.routes_client_page import router as client_page_router
from postroom.web.routes_clients import router as clients_router
from postroom.web.routes_compose import router as compose_router
from postroom.web.routes_domains import router as domains_router
from postroom.web.routes_mailbox import router as mailbox_router
from postroom.web.routes_mailbox_actions import router as mailbox_actions_router
from postroom.web.routes_office import router as office_router
from postroom.web.routes_outbox import router as outbox_router
from postroom.web.routes_public import router as public_router
from postroom.web.routes_push import router as push_router
from postroom.web.routes_reminders_calendar import router as reminders_calendar_router
from postroom.web.routes_templates import router as templates_router

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
    app.include_router(domains_router)  # sender domains for the relay (issue 9)
    app.include_router(mailbox_actions_router)  # fetch now, delete, move, folders (issue 6)
    app.include_router(mailbox_router)  # reading and search (issue 6)
    # Serial sending (issue 7); the wizard first: "/campaigns/new" is not a campaign id.
    app.include_router(campaign_wizard_router)
    app.include_router(campaign_steps_router)
    app.include_router(campaigns_router)
    app.include_router(public_router)  # /u/{token}, /s/{token}: no login, the token is the key
    app.include_router(push_router)  # /push/{token}: a contact turns on Web Push (issue 8)
    app.include_router(templates_router)  # templates with versions and preview (issue 7)
    # Clients and their channels, office settings, the reminders calendar (issue 8); the list
    # first: "/clients/channels" is not a client id.
    app.include_router(clients_router)
    app.include_router(client_page_router)
    app.include_router(office_router)
    app.include_router(reminders_calendar_router)
    install_error_pages(app)
    return app
