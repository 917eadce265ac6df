"""The cyclic garbage collector in a long-running Postroom process.

A worker or server imports several hundred thousand objects at start (SQLAlchemy's
mappers and compiled statements, the app's routes, the `email` package) that live as long
as the process. CPython's collector walks all of them at every full collection, and the
young-generation collections a big fetch or send triggers (every ~700 new container
objects) keep promoting work into those passes: during a 10,000-message first sync the
collector ran for 0.30–0.36 s of the fetching process's time on a quiet machine, 0.11 s
with this (docs/decisions.md). Freezing what exists once the process is set up moves it to the
permanent generation, which no collection visits; reference counting still frees it, and
new objects are collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Call once the process has imported and built what it keeps for its whole life."""
    gc.collect()  # what is garbage now is not frozen with the rest
    gc.freeze()
