"""Segments of received mail that no row names (a fetch killed between writing a batch and
committing it) are removed after a day; every segment a row of any company names stays."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import select

from postroom.db.models_mailbox import MailMessage
from postroom.services.mail_store_sweep import sweep_orphaned_segments
from postroom.services.runtime import Runtime
from postroom.storage.mailstore import MailStore, mail_store_for
from tests.reading.support import corpus, mailbox, store
from tests.support import Tenant

DAY = 24 * 3600


def _path(mail: MailStore, key: str) -> Path:
    segment = key.split(":")[0]
    return mail.root / segment[:2] / segment


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _keys(runtime: Runtime, tenant: Tenant, ids: list[int]) -> list[str]:
    with runtime.tenant(tenant.company_id) as session:
        found = session.scalars(select(MailMessage.blob_key).where(MailMessage.id.in_(ids)))
        return list(found)


def test_only_old_segments_that_no_row_names_are_removed(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    mail = mail_store_for(runtime.settings.data_dir)
    raw = corpus("iso8859_2.eml")
    _, inbox = mailbox(runtime, tenant, "biuro@alfa.example.test")
    _, other_inbox = mailbox(runtime, other_tenant, "biuro@beta.example.test")
    named = _keys(runtime, tenant, store(runtime, tenant, inbox, [raw, raw]))
    other_named = _keys(runtime, other_tenant, store(runtime, other_tenant, other_inbox, [raw]))
    half_purged = _keys(runtime, tenant, store(runtime, tenant, inbox, [raw, raw]))
    with runtime.tenant(tenant.company_id) as session:  # one of its two messages purged
        row = session.scalar(select(MailMessage).where(MailMessage.blob_key == half_purged[0]))
        session.delete(row)
    mail.delete(half_purged[0])
    orphan = mail.put_many([raw, raw])  # written, then the process died before the commit
    young_orphan = mail.put_many([raw])  # a fetch committing right now
    stranger = mail.root / "ab" / "notes.txt"
    stranger.parent.mkdir(parents=True, exist_ok=True)
    stranger.write_text("not a segment")
    for key in (named[0], other_named[0], half_purged[1], orphan[0]):
        _age(_path(mail, key), 2 * DAY)
    _age(stranger, 2 * DAY)

    assert sweep_orphaned_segments(runtime) == 1

    assert not _path(mail, orphan[0]).exists()
    for key in (*named, *other_named, half_purged[1], *young_orphan):
        assert mail.read(key) == raw
    assert stranger.exists()
    assert sweep_orphaned_segments(runtime) == 0


def test_a_shorter_age_is_honoured_and_an_empty_store_is_fine(runtime: Runtime) -> None:
    assert sweep_orphaned_segments(runtime) == 0  # no mail directory yet
    mail = mail_store_for(runtime.settings.data_dir)
    orphan = mail.put_many([corpus("iso8859_2.eml")])
    _age(_path(mail, orphan[0]), 120)
    assert sweep_orphaned_segments(runtime, older_than_seconds=3600) == 0
    assert sweep_orphaned_segments(runtime, older_than_seconds=60) == 1
