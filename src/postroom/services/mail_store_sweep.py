"""Segments of received mail that no message row names, removed after a day.

A fetch writes a batch's segment and commits the batch's rows after it (mailstore.py): a
process killed in between, or a commit that fails (the database gone, a lock timeout),
leaves the segment without rows, and the next fetch downloads those messages again into a
new one. Nothing is lost, but each such batch leaves up to `POSTROOM_FETCH_BATCH_BYTES` on
disk for good, and an account whose commits keep failing would leave one per attempt. The
bytes cannot be removed where the commit failed: a failure while committing does not say
whether the commit happened. So a periodic sweep compares the segments on disk with the
keys the rows hold, across companies.

Why a day is safe: a segment is only ever named by rows committed seconds after it was
written, by the fetch that wrote it; every later row naming it (a move, a copy) is made from
a row that names it already, in one transaction, so a segment with no row is never named
again. Ranges of a segment that is still named (a message skipped on a resume) stay; only
whole segments go.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from postroom.db.models_mailbox import MailMessage
from postroom.services.runtime import Runtime
from postroom.storage.mailstore import SEGMENT_NAME_LENGTH, mail_store_for

log = logging.getLogger("postroom.mail_store")
ORPHAN_AGE_SECONDS = 24 * 3600


def sweep_orphaned_segments(
    runtime: Runtime, *, older_than_seconds: float = ORPHAN_AGE_SECONDS
) -> int:
    """Remove the stale segments no message row names; how many went.

    One pass over `mail_messages` (the segment names its keys hold, a few thousand values for
    millions of rows) rather than a lookup per segment: `blob_key` has no index, and one is
    not worth its cost on every insert of a first sync for a job that runs hourly."""
    store = mail_store_for(runtime.settings.data_dir)
    stale = set(store.stale_segments(older_than_seconds))
    if not stale:
        return 0
    # A key is "<segment>:<offset>:<length>", or the segment alone (the older layout).
    segment = func.substr(MailMessage.blob_key, 1, SEGMENT_NAME_LENGTH)
    with runtime.platform() as session:
        named = set(session.scalars(select(segment).distinct()))
    orphans = sorted(stale - named)
    for name in orphans:
        store.remove_segment(name)
    if orphans:
        log.info("removed mail segments no message names", extra={"segments": len(orphans)})
    return len(orphans)
