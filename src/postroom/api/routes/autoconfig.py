"""Autodiscovery: proposed server settings for an address, as the account form fills itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from postroom.api.deps import Caller, CallerDep
from postroom.services import autodiscovery
from postroom.services.autodiscovery import DiscoveredSettings

router = APIRouter(tags=["autoconfig"])


def _authenticate(caller: Caller) -> None:
    with caller.begin():
        pass


@router.get("/autoconfig", response_model=DiscoveredSettings)
async def get_autoconfig(
    caller: CallerDep,
    email: Annotated[str, Query(max_length=320, description="The mailbox's address.")],
) -> DiscoveredSettings:
    """Presets first, then the domain's autoconfig file, SRV records, its MX provider, a guess.

    Bounded by POSTROOM_AUTODISCOVERY_TIMEOUT_SECONDS; nothing found is an answer too
    (`found` false, `source` "none"). 422 if `email` is not an address.
    """
    # The token is checked in the thread pool (database access is synchronous); the lookups
    # then run on the event loop, in parallel, holding no database transaction while they wait.
    await run_in_threadpool(_authenticate, caller)
    return await autodiscovery.discover_settings(settings=caller.runtime.settings, email=email)
