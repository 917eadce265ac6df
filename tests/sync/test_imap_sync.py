"""IMAP mirroring against the real Dovecot: full and incremental sync, folders and roles,
flags and expunges by another client, UIDVALIDITY changes, renamed and deleted folders."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, date, datetime

from sqlalchemy import select

from postroom.db.models_mailbox import MailFolder, MailMessage, MailPurged
from postroom.enums import FolderRole
from postroom.services.runtime import Runtime
from postroom.storage.mailstore import mail_store_for
from tests.fixtures.mailenv import MailEnv
from tests.support import Tenant
from tests.sync.support import (
    account_row,
    append,
    fetch,
    folders,
    make_account,
    messages,
    new_mailbox,
    other_client,
    quoted_folder,
    state,
    stored,
)


def test_full_sync_mirrors_every_folder_with_its_role_and_the_exact_bytes(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    inbox, invoices = messages(12, to=address), messages(3, start=100, to=address)
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", inbox[:4], flags="\\Seen")
        append(imap, "INBOX", inbox[4:])
        imap.create(quoted_folder("Faktury"))
        imap.create(quoted_folder("Faktury/Zażółć 2024"))  # modified UTF-7 on the wire
        append(imap, "Faktury/Zażółć 2024", invoices, flags="\\Flagged")
    account_id = make_account(runtime, tenant.company_id, mailenv, address)

    result = fetch(runtime, tenant.company_id, account_id)

    assert result.ran and result.error is None and result.new_messages == 15
    mirrored = folders(runtime, tenant.company_id, account_id)
    assert {path: f.role for path, f in mirrored.items()} == {
        "INBOX": FolderRole.INBOX,
        "Sent": FolderRole.SENT,
        "Drafts": FolderRole.DRAFTS,
        "Trash": FolderRole.TRASH,
        "Junk": FolderRole.JUNK,
        "Archive": FolderRole.ARCHIVE,
        "Faktury": FolderRole.OTHER,
        "Faktury/Zażółć 2024": FolderRole.OTHER,
    }
    assert mirrored["Faktury/Zażółć 2024"].name == "Zażółć 2024"
    assert mirrored["INBOX"].synced_uid == 12 and mirrored["INBOX"].uidvalidity
    rows = stored(runtime, tenant.company_id, account_id)
    assert len(rows) == 15 and all(row.from_history for row in rows)
    by_folder = {path: [r for r in rows if r.folder == path] for path in mirrored}
    assert [r.seen for r in by_folder["INBOX"]] == [True] * 4 + [False] * 8
    assert all(r.flagged for r in by_folder["Faktury/Zażółć 2024"])
    store = mail_store_for(runtime.settings.data_dir)
    originals = {hashlib.sha256(raw).hexdigest() for raw in inbox + invoices}
    assert {hashlib.sha256(store.read(r.blob_key)).hexdigest() for r in rows} == originals
    assert {r.sha256 for r in rows} == originals
    assert account_row(runtime, tenant.company_id, account_id).first_fetched_at is not None
    sync = state(runtime, tenant.company_id, account_id)
    assert sync.first_import_done_at is not None and sync.lock_owner is None
    assert sync.supports_idle is True and sync.last_new_messages == 15


def test_incremental_sync_fetches_only_new_mail_and_it_is_not_history(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", messages(6, to=address))
    account_id = make_account(runtime, tenant.company_id, mailenv, address)
    assert fetch(runtime, tenant.company_id, account_id).new_messages == 6
    before = {r.id for r in stored(runtime, tenant.company_id, account_id)}

    for raw in messages(2, start=50, to=address):
        mailenv.deliver(raw, address)
    result = fetch(runtime, tenant.company_id, account_id)

    assert result.new_messages == 2
    rows = stored(runtime, tenant.company_id, account_id)
    new = [r for r in rows if r.id not in before]
    assert len(rows) == 8 and len(new) == 2
    assert not any(r.from_history for r in new)
    assert fetch(runtime, tenant.company_id, account_id).new_messages == 0
    assert len(stored(runtime, tenant.company_id, account_id)) == 8


def test_flag_changes_and_expunges_by_another_client_are_mirrored(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", messages(10, to=address))
    account_id = make_account(runtime, tenant.company_id, mailenv, address)
    fetch(runtime, tenant.company_id, account_id)
    store = mail_store_for(runtime.settings.data_dir)
    doomed = [r for r in stored(runtime, tenant.company_id, account_id) if r.uid in (3, 7)]

    with other_client(mailenv, address) as imap:
        imap.select("INBOX")
        imap.uid("STORE", "1:2", "+FLAGS", "(\\Seen \\Flagged)")
        imap.uid("STORE", "3,7", "+FLAGS", "(\\Deleted)")
        imap.expunge()
    fetch(runtime, tenant.company_id, account_id)

    rows = {r.uid: r for r in stored(runtime, tenant.company_id, account_id)}
    assert sorted(rows) == [1, 2, 4, 5, 6, 8, 9, 10]
    assert rows[1].seen and rows[1].flagged and rows[2].seen and rows[2].flagged
    assert not rows[4].seen and not rows[4].flagged
    for row in doomed:  # the bytes of expunged messages go too
        assert not store.exists(row.blob_key)

    with other_client(mailenv, address) as imap:  # and back: flags removed elsewhere
        imap.select("INBOX")
        imap.uid("STORE", "1", "-FLAGS", "(\\Flagged)")
    fetch(runtime, tenant.company_id, account_id)
    rows = {r.uid: r for r in stored(runtime, tenant.company_id, account_id)}
    assert rows[1].seen and not rows[1].flagged


def test_a_changed_uidvalidity_resyncs_the_folder_without_duplicates(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    raws = messages(8, to=address)
    # No Message-ID at all: matched by its bytes after the download, not by its header.
    anonymous = b"From: a@example.test\r\nSubject: bez identyfikatora\r\n\r\nTresc.\r\n"
    with other_client(mailenv, address) as imap:
        imap.create(quoted_folder("Projekty"))
        append(imap, "Projekty", [*raws, anonymous])
    account_id = make_account(runtime, tenant.company_id, mailenv, address)
    fetch(runtime, tenant.company_id, account_id)
    first = {r.sha256: r for r in stored(runtime, tenant.company_id, account_id)}
    old_validity = folders(runtime, tenant.company_id, account_id)["Projekty"].uidvalidity

    # Delete and recreate the folder: Dovecot gives it a new UIDVALIDITY. One message is gone
    # for good, one is new, the rest are the same messages under new UIDs.
    with other_client(mailenv, address) as imap:
        imap.delete(quoted_folder("Projekty"))
        imap.create(quoted_folder("Projekty"))
        append(imap, "Projekty", [*raws[1:], anonymous, *messages(1, start=70, to=address)])
    _bump_uidvalidity_if_same_second(mailenv, address, old_validity)
    fetch(runtime, tenant.company_id, account_id)

    folder = folders(runtime, tenant.company_id, account_id)["Projekty"]
    assert folder.uidvalidity != old_validity
    rows = stored(runtime, tenant.company_id, account_id)
    assert len(rows) == 9 and len({r.sha256 for r in rows}) == 9  # nothing twice
    assert all(r.uidvalidity == folder.uidvalidity for r in rows)
    assert sorted(r.uid for r in rows) == list(range(1, 10))
    kept = [r for r in rows if r.sha256 in first]
    assert len(kept) == 8
    assert all(first[r.sha256].id == r.id for r in kept)  # the same rows, re-keyed
    assert hashlib.sha256(raws[0]).hexdigest() not in {r.sha256 for r in rows}


def _bump_uidvalidity_if_same_second(
    mailenv: MailEnv, address: str, old: int | None, folder: str = "Projekty"
) -> None:
    """Dovecot's UIDVALIDITY is the creation time in seconds: a folder recreated within the
    same second gets the same one. Recreate it a second later, then, to force a change."""
    with other_client(mailenv, address) as imap:
        status = imap.status(quoted_folder(folder), "(UIDVALIDITY)")[1][0]
        assert isinstance(status, bytes)
        if str(old).encode() not in status:
            return
        imap.select(quoted_folder(folder))
        _typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
        bodies = [item[1] for item in data if isinstance(item, tuple)]
        imap.close()
        time.sleep(1.1)
        imap.delete(quoted_folder(folder))
        imap.create(quoted_folder(folder))
        append(imap, folder, bodies)


def test_folders_deleted_on_the_server_go_and_renamed_ones_keep_their_messages(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    with other_client(mailenv, address) as imap:
        for name in ("Stare", "Klienci"):
            imap.create(quoted_folder(name))
        append(imap, "Stare", messages(2, to=address))
        append(imap, "Klienci", messages(3, start=10, to=address))
    account_id = make_account(runtime, tenant.company_id, mailenv, address)
    fetch(runtime, tenant.company_id, account_id)
    before = {r.sha256: r.id for r in stored(runtime, tenant.company_id, account_id)}
    store = mail_store_for(runtime.settings.data_dir)
    rows = stored(runtime, tenant.company_id, account_id)
    old_keys = [r.blob_key for r in rows if r.folder == "Stare"]

    with other_client(mailenv, address) as imap:
        imap.delete(quoted_folder("Stare"))
        imap.rename(quoted_folder("Klienci"), quoted_folder("Klienci – archiwum"))
    fetch(runtime, tenant.company_id, account_id)

    mirrored = folders(runtime, tenant.company_id, account_id)
    assert "Stare" not in mirrored and "Klienci" not in mirrored
    assert "Klienci – archiwum" in mirrored
    rows = stored(runtime, tenant.company_id, account_id)
    assert {r.folder for r in rows} == {"Klienci – archiwum"}
    assert {r.sha256: r.id for r in rows}.items() <= before.items()  # same rows, no download
    assert not any(store.exists(key) for key in old_keys)


def test_only_mail_received_after_the_date_is_fetched(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    raws = messages(4, to=address)
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", raws[:2], when=datetime(2023, 5, 1, 12, 0, tzinfo=UTC))
        append(imap, "INBOX", raws[2:], when=datetime(2025, 5, 1, 12, 0, tzinfo=UTC))
    account_id = make_account(
        runtime, tenant.company_id, mailenv, address, fetch_since=date(2024, 1, 1)
    )
    fetch(runtime, tenant.company_id, account_id)
    got = {r.sha256 for r in stored(runtime, tenant.company_id, account_id)}
    assert got == {hashlib.sha256(raw).hexdigest() for raw in raws[2:]}
    assert folders(runtime, tenant.company_id, account_id)["INBOX"].synced_uid == 4


def test_a_message_purged_in_postroom_but_kept_on_the_server_never_comes_back(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    raws = messages(4, to=address)
    with other_client(mailenv, address) as imap:
        imap.create(quoted_folder("Kosz"))
        append(imap, "Kosz", raws)
    account_id = make_account(runtime, tenant.company_id, mailenv, address)
    fetch(runtime, tenant.company_id, account_id)
    purged = next(r for r in stored(runtime, tenant.company_id, account_id) if r.uid == 3)
    with runtime.tenant(tenant.company_id) as session:  # what a purge leaves (mail_purge.py)
        row = session.get(MailMessage, purged.id)
        assert row is not None
        session.add(
            MailPurged(
                account_id=account_id,
                folder_id=row.folder_id,
                uidvalidity=row.uidvalidity,
                uid=row.uid,
                message_id_header=row.message_id_header,
                content_sha256=row.content_sha256,
            )
        )
        session.delete(row)
        folder = session.get(MailFolder, row.folder_id)
        assert folder is not None
        folder.synced_uid, folder.highest_modseq = 1, None  # its UID above the checkpoint

    fetch(runtime, tenant.company_id, account_id)
    assert sorted(r.uid or 0 for r in stored(runtime, tenant.company_id, account_id)) == [1, 2, 4]

    old = folders(runtime, tenant.company_id, account_id)["Kosz"].uidvalidity
    with other_client(mailenv, address) as imap:  # a new UIDVALIDITY, the same messages
        imap.delete(quoted_folder("Kosz"))
        imap.create(quoted_folder("Kosz"))
        append(imap, "Kosz", raws)
    _bump_uidvalidity_if_same_second(mailenv, address, old, "Kosz")
    fetch(runtime, tenant.company_id, account_id)

    rows = stored(runtime, tenant.company_id, account_id)
    assert purged.sha256 not in {r.sha256 for r in rows} and len(rows) == 3
    new_validity = folders(runtime, tenant.company_id, account_id)["Kosz"].uidvalidity
    with runtime.tenant(tenant.company_id) as session:
        tombstone = session.scalars(select(MailPurged)).one()
        assert (tombstone.uidvalidity, tombstone.uid) == (new_validity, 3)
