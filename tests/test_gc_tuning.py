"""Freezing a process's startup objects (gc_tuning.py): kept out of collections, and new
garbage still collected."""

from __future__ import annotations

import gc
import weakref

from postroom.gc_tuning import freeze_startup_objects


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_startup_objects_are_frozen_and_new_cycles_are_still_collected() -> None:
    kept = [object() for _ in range(10)]
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() >= len(kept)
        first, second = _Node(), _Node()
        first.other, second.other = second, first  # only the collector can free a cycle
        gone = weakref.ref(first)
        del first, second
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
