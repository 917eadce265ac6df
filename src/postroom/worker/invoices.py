"""Periodic job of the worker: send the invoice notices due today (services/invoice_notices.py)."""

from __future__ import annotations

from datetime import date

from postroom.services.invoice_notices import SendResult, send_due_notices
from postroom.services.invoice_plan import local_today
from postroom.services.runtime import Runtime


def send_invoice_notices(runtime: Runtime, today: date | None = None) -> dict[SendResult, int]:
    """`today` (the office's local date by default) is a parameter so tests can move time."""
    return send_due_notices(runtime, today=today or local_today(runtime.settings))
