"""Uploaded bytes that no row names (a crash between writing and committing) are swept."""

from __future__ import annotations

import io
import os
import time

from postroom.db.models_outbox import StoredFile
from postroom.services.files import file_store, sweep_orphaned_files
from postroom.services.runtime import Runtime
from tests.support import Tenant

HOUR = 3600


def _age(path: os.PathLike[str], seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_only_old_files_without_a_row_are_removed(runtime: Runtime, tenant: Tenant) -> None:
    store = file_store(runtime.settings)
    kept = store.put(io.BytesIO(b"%PDF invoice"), max_bytes=1000)
    orphan = store.put(io.BytesIO(b"%PDF crashed upload"), max_bytes=1000)
    young_orphan = store.put(io.BytesIO(b"%PDF upload committing now"), max_bytes=1000)
    with runtime.tenant(tenant.company_id) as session:
        session.add(
            StoredFile(
                uploaded_by_user_id=tenant.admin.id,
                filename="faktura.pdf",
                content_type="application/pdf",
                size=kept.size,
                sha256=kept.sha256,
                storage_key=kept.key,
            )
        )
    unfinished = store.path(kept.key).parent / ".upload-killed"
    unfinished.write_bytes(b"half")
    for path in (store.path(kept.key), store.path(orphan.key), unfinished):
        _age(path, 2 * HOUR)

    assert sweep_orphaned_files(runtime, older_than_seconds=HOUR) == 1
    assert store.exists(kept.key)
    assert not store.exists(orphan.key)
    assert store.exists(young_orphan.key)
    assert not unfinished.exists()
    assert sweep_orphaned_files(runtime, older_than_seconds=HOUR) == 0
