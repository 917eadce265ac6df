"""Parsing received mail in other processes: bodies for the search index, and the headers
of a big fetch's batches.

Indexing is mostly parsing: the body of every message through the `email` package, about
1 ms each, under the one GIL the fetch's threads share. Here it runs in a small pool of
worker processes (spawned, never forked: the fetch has threads; like every multiprocessing
program, a script that starts a fetch guards its top level with `if __name__ == "__main__"`),
for batches big enough to pay for the trip; small ones (ten new messages) stay in-process.
A big download's header parsing and hashing go there too (`run_in_pool`, from
sync_imap_download): the workers read the batch back from its segment, so only keys and the
parsed rows cross the pipe, and `warm` starts them before the first batch arrives.

A pool that breaks (a worker killed) is dropped and the batch parsed in-process, so parsing
never fails because of the pool; the next big batch starts a new one.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import importlib
import logging
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from postroom.gc_tuning import freeze_startup_objects
from postroom.mail.parse import ParsedMessage, parse_body
from postroom.services.search_text import searchable_words
from postroom.storage.files import StoredBlobMissingError
from postroom.storage.mailstore import MailStore

log = logging.getLogger("postroom.parse_pool")
BODIES_MIN_BATCH = 8
BODIES_PER_TASK = 25  # a task of bodies: ~40 ms of work, small enough to spread over workers
ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

_lock = threading.Lock()
_pools: dict[int, ProcessPoolExecutor] = {}


@dataclass(frozen=True)
class ParsedBody:
    """What indexing needs of a message's body: its parse and the body's search words."""

    parsed: ParsedMessage
    words: str


def parse_bodies(store: MailStore, keys: Sequence[str], *, processes: int) -> list[ParsedBody]:
    """Each stored message's body parsed and its text made searchable, in order; the worker
    processes read the bytes from the store themselves."""
    root = store.root
    if processes < 1 or len(keys) < BODIES_MIN_BATCH:
        return _bodies(root, list(keys))
    tasks = [
        (root, list(keys[start : start + BODIES_PER_TASK]))
        for start in range(0, len(keys), BODIES_PER_TASK)
    ]
    return _run(_bodies_task, tasks, processes)


def _bodies(root: Path, keys: list[str]) -> list[ParsedBody]:
    store = MailStore(root)
    results: list[ParsedBody] = []
    for key in keys:
        try:
            parsed = parse_body(store.read(key))
        except StoredBlobMissingError:
            parsed = ParsedMessage(defects=["raw message missing from the store"])
        results.append(ParsedBody(parsed, searchable_words(parsed.text)))
    return results


def _bodies_task(task: tuple[Path, list[str]]) -> list[ParsedBody]:
    return _bodies(*task)


async def run_in_pool(work: Callable[[ItemT], ResultT], task: ItemT, processes: int) -> ResultT:
    """`work(task)` in the pool, awaited; in a thread here when no pool can be had or it
    breaks (a worker killed), so the work never fails because of the pool."""
    future = _submit(work, task, processes)
    if future is not None:
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            _pool_failed(processes, exc)
    return await asyncio.to_thread(work, task)


def _submit(
    work: Callable[[ItemT], ResultT], task: ItemT, processes: int
) -> Future[ResultT] | None:
    try:
        return _pool(processes).submit(work, task)
    except (BrokenProcessPool, OSError, RuntimeError) as exc:
        _pool_failed(processes, exc)
        return None


def warm(processes: int, module: str) -> None:
    """Start the workers now and have each import `module`, without waiting: a fetch that
    sees a big download coming calls this before its first batch arrives, so that no batch
    waits for processes to start (about a second on a busy machine)."""
    if processes < 1:
        return
    for _ in range(processes):
        if _submit(_import, module, processes) is None:
            return


def _import(module: str) -> None:
    """In a worker: import `module`; the first time, freeze what the worker has loaded, which
    stays for its life (gc_tuning.py)."""
    importlib.import_module(module)
    if not gc.get_freeze_count():
        freeze_startup_objects()


def _pool_failed(processes: int, exc: BaseException) -> None:
    """The pool broke (a worker died): drop it; the next task starts a new one."""
    log.warning("parsing in-process: the worker pool failed", extra={"error": repr(exc)})
    _drop(processes)


def _run(
    work: Callable[[ItemT], list[ResultT]], tasks: Sequence[ItemT], processes: int
) -> list[ResultT]:
    """`work` over `tasks` in the pool, results concatenated in order; in-process if the
    pool cannot be had or breaks."""
    try:
        pool = _pool(processes)
        futures: list[Future[list[ResultT]]] = [pool.submit(work, task) for task in tasks]
        return [item for future in futures for item in future.result()]
    except (BrokenProcessPool, OSError, RuntimeError) as exc:
        _pool_failed(processes, exc)
        return [item for task in tasks for item in work(task)]


def _pool(processes: int) -> ProcessPoolExecutor:
    with _lock:
        pool = _pools.get(processes)
        if pool is None:
            context = multiprocessing.get_context("spawn")
            pool = ProcessPoolExecutor(max_workers=processes, mp_context=context)
            _pools[processes] = pool
        return pool


def _drop(processes: int) -> None:
    with _lock:
        pool = _pools.pop(processes, None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def shutdown() -> None:
    """Stop the worker processes (at exit; tests call it to check the in-process path)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)
