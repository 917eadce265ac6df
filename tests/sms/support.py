"""Helpers of the SMS tests: the app in uvicorn on a chosen port, office SMS on, rows."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import uvicorn
from sqlalchemy import select

from postroom.app import create_app
from postroom.db.base import Base
from postroom.db.models import User
from postroom.services import sms_office
from postroom.services.runtime import Runtime
from tests.support import Tenant

SMSAPI_TOKEN = "smsapi-oauth-Tajny-Token-4417-abcdef"
TWILIO_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TWILIO_AUTH_TOKEN = "twilio-auth-Tajny-Token-8820-fedcba"
SMS_SECRETS = (SMSAPI_TOKEN, TWILIO_AUTH_TOKEN)
RowT = TypeVar("RowT", bound=Base)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_app(runtime: Runtime, port: int) -> Iterator[str]:
    """Postroom (web and API, no worker: tests send by calling it) in uvicorn on `port`, the
    port POSTROOM_PUBLIC_URL names, so providers can call its callbacks back."""
    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=port, log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def enable_sms(runtime: Runtime, tenant: Tenant, sender_name: str | None = None) -> None:
    settings = runtime.settings
    with runtime.tenant(tenant.company_id) as session:
        admin = session.get(User, tenant.admin.id)
        assert admin is not None
        sms_office.enable_sms(
            session, actor=admin, settings=settings, accept_price_list=settings.sms_price_list
        )
        if sender_name is not None:
            sms_office.set_sender_name(
                session, actor=admin, settings=settings, sender_name=sender_name
            )


def rows(runtime: Runtime, company_id: int, model: type[RowT]) -> list[RowT]:
    with runtime.tenant(company_id) as session:
        found = list(session.scalars(select(model).order_by(model.id)))  # type: ignore[attr-defined]
        session.expunge_all()
        return found
