"""Periodic job of the worker: send due deadline reminders (services/reminder_scheduler.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from postroom.services.reminder_scheduler import send_due_reminders
from postroom.services.runtime import Runtime


def send_reminders(runtime: Runtime) -> int:
    return send_due_reminders(runtime, now=datetime.now(UTC))
