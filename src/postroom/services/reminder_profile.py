"""A client's deadline profile (which deadlines apply to it), read from its record."""

from __future__ import annotations

from postroom.db.models_crm import Client
from postroom.services.deadlines import DeadlineProfile


def profile_of(client: Client) -> DeadlineProfile:
    return DeadlineProfile(
        vat_period=client.vat_period,
        income_tax_period=client.income_tax_period,
        zus_day=client.zus_day,
        documents_day=client.documents_day,
    )
