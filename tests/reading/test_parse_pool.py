"""Indexing's body parsing in worker processes gives what parsing in-process gives, for
good and broken mail alike, and a pool that breaks falls back to in-process parsing."""

from __future__ import annotations

import os
from pathlib import Path

from postroom.services import parse_pool
from postroom.storage.mailstore import MailStore
from tests.newmail.support import message

CORPUS = Path(__file__).parent.parent / "sync" / "corpus"


def _stored(tmp_path: Path) -> tuple[MailStore, list[str]]:
    raws = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))]
    raws += [
        message(subject=f"Faktura {n}", body=f"Treść numer {n}, zażółć gęślą jaźń.\n")
        for n in range(30)
    ]
    store = MailStore(tmp_path / "mail")
    keys = store.put_many(raws)
    missing = store.put_many([b"Subject: gone\r\n\r\nbody\r\n"])
    store.delete(missing[0])
    return store, [*keys, *missing]


def test_the_pool_parses_bodies_as_the_fetching_process_does(tmp_path: Path) -> None:
    store, keys = _stored(tmp_path)
    here = parse_pool.parse_bodies(store, keys, processes=0)
    pooled = parse_pool.parse_bodies(store, keys, processes=2)
    assert len(pooled) > parse_pool.BODIES_PER_TASK  # several tasks, spread over workers
    assert pooled == here
    assert "zażółć" in here[-2].words and here[-1].parsed.defects == [
        "raw message missing from the store"
    ]
    assert any(body.parsed.defects for body in here[:8])  # the broken corpus stays broken


def test_a_broken_pool_falls_back_to_parsing_here(
    tmp_path: Path,
) -> None:
    store, keys = _stored(tmp_path)
    expected = parse_pool.parse_bodies(store, keys, processes=0)
    assert parse_pool.parse_bodies(store, keys, processes=3) == expected  # workers started
    pool = parse_pool._pools[3]
    for process in pool._processes.values():
        os.kill(process.pid, 9)
    assert parse_pool.parse_bodies(store, keys, processes=3) == expected
    assert parse_pool._pools.get(3) is not pool  # dropped; the next big batch starts another
    parse_pool.shutdown()
