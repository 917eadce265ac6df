"""The mail store: batches in segments, each message read back exactly, deletions that
free the bytes, and keys of the older one-file-per-message layout."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postroom.storage.files import StoredBlobMissingError
from postroom.storage.mailstore import MailStore

BIG = b"Subject: big\r\n\r\n" + os.urandom(300_000)


def _messages() -> list[bytes]:
    return [b"Subject: one\r\n\r\nfirst\r\n", BIG, b"Subject: three\r\n\r\n" + b"x" * 5000]


def _segment(store: MailStore, key: str) -> Path:
    segment = key.split(":")[0]
    return store.root / segment[:2] / segment


def test_a_batch_goes_into_one_segment_and_reads_back_exactly(tmp_path: Path) -> None:
    store = MailStore(tmp_path / "mail")
    keys = store.put_many(_messages())
    assert len({_segment(store, key) for key in keys}) == 1
    assert [store.read(key) for key in keys] == _messages()
    with store.open(keys[1]) as handle:  # read in steps, as the raw download streams it
        chunks = []
        while chunk := handle.read(7_000):
            chunks.append(chunk)
    assert b"".join(chunks) == BIG


def test_deleting_a_message_erases_its_bytes_and_keeps_the_others(tmp_path: Path) -> None:
    store = MailStore(tmp_path / "mail")
    keys = store.put_many(_messages())
    segment = _segment(store, keys[0])
    blocks = segment.stat().st_blocks
    store.delete(keys[1])
    assert not store.exists(keys[1])
    assert BIG[100:200] not in segment.read_bytes()  # gone from the file, not just unlisted
    assert segment.stat().st_blocks < blocks  # the blocks went back to the file system
    assert store.read(keys[0]) == _messages()[0] and store.read(keys[2]) == _messages()[2]
    assert store.exists(keys[0]) and store.exists(keys[2])
    store.delete(keys[1])  # twice is fine
    store.delete(keys[0])
    store.delete(keys[2])
    assert not segment.exists()  # the last message deleted takes the segment with it
    with pytest.raises(StoredBlobMissingError):
        store.read(keys[0])
    store.delete(keys[0])  # a missing segment is already deleted


def test_keys_of_the_older_layout_still_read_and_delete(tmp_path: Path) -> None:
    store = MailStore(tmp_path / "mail")
    key = secrets.token_hex(16)
    (store.root / key[:2]).mkdir(parents=True)
    (store.root / key[:2] / key).write_bytes(BIG)
    assert store.read(key) == BIG and store.exists(key)
    store.delete(key)
    assert not store.exists(key)
    assert not (store.root / key[:2] / key).exists()


@pytest.mark.parametrize(
    "key", ["", "../etc/passwd", "ab", "g" * 32, "a" * 32 + ":1", "a" * 32 + ":1:x", "A" * 32]
)
def test_a_key_that_is_not_ours_is_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a mail store key"):
        MailStore(tmp_path).read(key)


# Any bytes after a header line: a message never starts with a zero byte.
_raw_messages = st.binary(max_size=3000).map(lambda body: b"X-Test: 1\r\n\r\n" + body)


@settings(max_examples=25, deadline=None)
@given(st.lists(_raw_messages, min_size=1, max_size=12), st.data())
def test_any_batch_reads_back_after_any_deletions(
    tmp_path_factory: pytest.TempPathFactory, batch: list[bytes], data: st.DataObject
) -> None:
    store = MailStore(tmp_path_factory.mktemp("mail"))
    keys = store.put_many(batch)
    doomed = data.draw(st.sets(st.sampled_from(range(len(batch)))))
    for index in doomed:
        store.delete(keys[index])
    for index, raw in enumerate(batch):
        if index not in doomed:
            assert store.read(keys[index]) == raw
    if len(doomed) == len(batch):
        assert not _segment(store, keys[0]).exists()
