"""The outbox tables as Core objects: the delivery hot paths run one statement per batch."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from postroom.db.models import Account
from postroom.db.models_outbox import (
    DeliveryAttempt,
    Draft,
    OutboxBody,
    OutboxMessage,
    OutboxRecipient,
)

ACCOUNTS = cast(Table, Account.__table__)
MESSAGES = cast(Table, OutboxMessage.__table__)
RECIPIENTS = cast(Table, OutboxRecipient.__table__)
BODIES = cast(Table, OutboxBody.__table__)
ATTEMPTS = cast(Table, DeliveryAttempt.__table__)
DRAFTS = cast(Table, Draft.__table__)
