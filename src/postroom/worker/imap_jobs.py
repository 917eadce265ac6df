"""Periodic IMAP work of the worker: Sent copies and drafts stored on the accounts' servers."""

from __future__ import annotations

import asyncio

from postroom.services.draft_store import StoredDrafts, store_drafts
from postroom.services.runtime import Runtime
from postroom.services.sent_copies import store_sent_copies

# What this process stored already, so unchanged drafts are not looked at again.
_STORED_DRAFTS = StoredDrafts()


def append_sent_copies(runtime: Runtime) -> int:
    """Runs in a worker thread (periodic jobs are synchronous): its own event loop."""
    return asyncio.run(store_sent_copies(runtime))


def save_drafts(runtime: Runtime) -> int:
    return asyncio.run(store_drafts(runtime, _STORED_DRAFTS))
