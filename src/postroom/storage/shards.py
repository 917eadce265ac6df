"""Both stores keep their files one level down, in directories named after the files' first
characters (root/ab/abcdef…); their sweeps of unclaimed files walk them the same way."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path


def files_older_than(root: Path, older_than_seconds: float) -> Iterator[Path]:
    """Files in root's shard directories last written before then, in name order; one removed
    while the walk goes on is skipped."""
    cutoff = time.time() - older_than_seconds
    if not root.is_dir():
        return
    for directory in sorted(root.iterdir()):
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            try:
                written = path.stat().st_mtime
            except FileNotFoundError:
                continue
            if written < cutoff:
                yield path
