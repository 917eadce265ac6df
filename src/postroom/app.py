"""The one place that wires things: web UI, the API under /api/v1, and the worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from postroom.api import create_api_app
from postroom.services.runtime import Runtime
from postroom.services.vapid_keys import ensure_vapid_key
from postroom.web import create_web_app
from postroom.worker.loop import run_worker


def create_app(runtime: Runtime, *, with_worker: bool = False) -> FastAPI:
    """The whole service. `with_worker` runs background work in the same process (`serve`)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Web Push: browsers subscribe with the platform's VAPID public key (docs/webpush.md).
        await asyncio.to_thread(ensure_vapid_key, runtime)
        if not with_worker:
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(runtime, stop))
        try:
            yield
        finally:
            stop.set()
            await task

    app = create_web_app(runtime, lifespan=lifespan)
    app.mount("/api/v1", create_api_app(runtime))
    return app
