"""Streaming "Test account" to the page: each step as it completes, as lines of JSON."""

# The browser POSTs the form (with the passwords typed) and reads the answer as it arrives, so
# no test job and no typed password is kept on the server between requests (docs/decisions.md).
# The service runs in a worker thread (its own event loop, as for the API); its progress
# callback hands each probe's report so far to this request's loop.

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from postroom.mail.report import AccountTestReport, ProbeReport
from postroom.mail.steps import ProgressCallback
from postroom.web.fields import FORM_LEVEL
from postroom.web.i18n import N_, Translator
from postroom.web.report_view import ReportView, live_view, report_view

log = logging.getLogger("postroom.web.live_test")

LIVE_HEADER = "X-Postroom-Live"  # sent by postroom.js; without it the page answers once
MEDIA_TYPE = "application/x-ndjson"
UNEXPECTED = N_("The test could not run because of an unexpected error. Try again.")

# Runs the service with a progress callback; raises what the service raises.
Check = Callable[[ProgressCallback | None], AccountTestReport]
Errors = dict[str, list[str]]  # field (or the form) → messages
# The test panel's HTML for a report, or for the errors that stopped the test from running.
Panel = Callable[[ReportView | None, Errors], str]
# A service refusal (invalid settings, no access) → its errors; None: not a refusal.
Explain = Callable[[Exception], Errors | None]


# Tests whose browser went away run to their end (at most the test's time limit); kept here
# so that the event loop does not drop them half-way.
_running: set[asyncio.Task[Any]] = set()


@dataclass(frozen=True)
class _Update:
    probe: dict[str, Any] | None = None  # a probe's report so far
    report: dict[str, Any] | None = None  # the finished report
    problems: Errors | None = None  # why the test did not run


def wants_live(request: Request) -> bool:
    return request.headers.get(LIVE_HEADER) == "1"


def _line(html: str, *, done: bool, state: str) -> bytes:
    return (json.dumps({"html": html, "done": done, "state": state}) + "\n").encode()


async def _run(check: Check, explain: Explain, queue: asyncio.Queue[_Update]) -> None:
    loop = asyncio.get_running_loop()

    def progress(probe: ProbeReport) -> None:  # called in the worker thread
        loop.call_soon_threadsafe(queue.put_nowait, _Update(probe=probe.as_dict()))

    try:
        report = await run_in_threadpool(check, progress)
    except Exception as exc:
        problems = explain(exc)
        if problems is None:
            log.exception("live account test failed unexpectedly")
            problems = {}
        queue.put_nowait(_Update(problems=problems))
        return
    queue.put_nowait(_Update(report=report.as_dict()))


def stream_test(
    check: Check, panel: Panel, explain: Explain, translate: Translator
) -> StreamingResponse:
    """The streaming response: the panel as the test starts, after each step, and at the end."""
    queue: asyncio.Queue[_Update] = asyncio.Queue()

    async def body() -> AsyncIterator[bytes]:
        task = asyncio.create_task(_run(check, explain, queue))
        _running.add(task)
        task.add_done_callback(_running.discard)
        probes: dict[str, dict[str, Any]] = {}
        yield _line(panel(live_view(probes, translate), {}), done=False, state="running")
        while True:
            update = await queue.get()
            if update.probe is not None:
                probes[str(update.probe["kind"])] = update.probe
                yield _line(panel(live_view(probes, translate), {}), done=False, state="running")
                continue
            if update.report is not None:
                view = report_view(update.report, translate)
                state = view.state if view else "failed"
                yield _line(panel(view, {}), done=True, state=state)
                return
            problems = update.problems or {FORM_LEVEL: [translate(UNEXPECTED)]}
            yield _line(panel(None, problems), done=True, state="refused")
            return

    # Proxies must pass each line on at once (nginx buffers unless told not to).
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type=MEDIA_TYPE, headers=headers)


async def run_once(check: Check, explain: Explain) -> tuple[dict[str, Any] | None, Errors]:
    """Without JavaScript: the finished report, or the errors that stopped the test."""
    try:
        report = await run_in_threadpool(check, None)
    except Exception as exc:
        problems = explain(exc)
        if problems is None:
            raise
        return None, problems
    return report.as_dict(), {}
