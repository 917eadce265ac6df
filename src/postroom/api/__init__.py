"""REST API v1: one router per resource, problem+json errors, bearer tokens."""

from __future__ import annotations

from fastapi import FastAPI

from postroom import __version__
from postroom.api.errors import install_error_handlers
from postroom.api.routes import (
    accounts,
    autoconfig,
    campaigns,
    client_notify,
    companies,
    contacts,
    domains,
    drafts,
    files,
    folders,
    groups,
    invoices,
    mail,
    mail_actions,
    mailsync,
    messages,
    migrations,
    notifications,
    oauth,
    projects,
    push,
    reminders,
    senders,
    sms,
    tasks,
    templates,
    users,
    webhooks,
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
    app.include_router(domains.router)  # sender domains for the relay (issue 9)
    for module in (contacts, tasks, notifications, webhooks):  # new mail (issue 6)
        app.include_router(module.router)
    for module in (folders, mail_actions, migrations):  # mailbox operations (issue 6)
        app.include_router(module.router)
    app.include_router(mail.router)  # reading and search (issue 6)
    app.include_router(mailsync.router)  # fetch now, fetch state (issue 6)
    app.include_router(templates.router)  # templates (issue 7)
    app.include_router(campaigns.router)  # serial sending (issue 7)
    app.include_router(sms.router)  # SMS with cost acceptance (issue 8)
    app.include_router(push.router)  # Web Push: VAPID key, push links (issue 8)
    app.include_router(client_notify.router)  # client messages and history (issue 8)
    app.include_router(reminders.router)  # deadline reminders, upcoming (issue 8)
    app.include_router(invoices.router)  # unpaid invoices and dunning notices (issue 8)
    return app
