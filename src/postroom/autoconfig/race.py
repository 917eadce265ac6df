"""Run lookups in parallel and take the highest-priority one that found something."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

log = logging.getLogger("postroom.autoconfig")

T = TypeVar("T")


async def _contained(step: Coroutine[Any, Any, T | None], name: str) -> T | None:
    try:
        return await step
    except Exception:
        # One broken source must not cost the user the other sources' answers; the bug is logged.
        log.warning("autodiscovery step %s failed", name, exc_info=True)
        return None


def spawn(step: Coroutine[Any, Any, T | None], name: str) -> asyncio.Task[T | None]:
    """A task for one lookup; an unexpected error in it counts as "found nothing"."""
    return asyncio.create_task(_contained(step, name), name=name)


def _outcome(task: asyncio.Task[T | None]) -> T | None:
    return None if task.cancelled() else task.result()


async def first_by_priority(tasks: Sequence[asyncio.Task[T | None]]) -> T | None:
    """The result of the first task, in list order, that returns something, as soon as every
    task before it has finished with nothing (Thunderbird's "first successful" rule)."""
    while True:
        for task in tasks:
            if not task.done():
                break
            outcome = _outcome(task)
            if outcome is not None:
                return outcome
        else:
            return None
        await asyncio.wait([t for t in tasks if not t.done()], return_when=asyncio.FIRST_COMPLETED)


def best_finished(tasks: Sequence[asyncio.Task[T | None]]) -> T | None:
    """At a deadline: the highest-priority task that has already found something."""
    return next((o for t in tasks if t.done() and (o := _outcome(t)) is not None), None)


async def cancel_all(tasks: Sequence[asyncio.Task[T | None]]) -> None:
    """Cancel what still runs and wait for it, so no lookup outlives its caller."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def race(tasks: Sequence[asyncio.Task[T | None]], deadline: float) -> T | None:
    """first_by_priority within `deadline` seconds, else the best finished; always cleans up."""
    try:
        async with asyncio.timeout(deadline):
            return await first_by_priority(tasks)
    except TimeoutError:
        return best_finished(tasks)
    finally:
        await cancel_all(tasks)
