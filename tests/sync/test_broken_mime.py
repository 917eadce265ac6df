"""Messages with broken MIME, unknown charsets, raw 8-bit headers, no or duplicate Message-IDs:
fetched from the real Dovecot, every one stored, listed and searchable as far as possible."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select, text

from postroom.db.models_mailbox import MailMessage, MailText
from postroom.services.runtime import Runtime
from postroom.services.search_text import searchable_words
from tests.fixtures.mailenv import MailEnv
from tests.support import Tenant
from tests.sync.support import append, fetch, make_account, new_mailbox, other_client

CORPUS = Path(__file__).with_name("corpus")


def _search(runtime: Runtime, word: str) -> set[int]:
    """Message ids whose search row has `word`, the way each database indexes it."""
    term = searchable_words(word)
    with runtime.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            query = text("SELECT rowid FROM mail_search WHERE mail_search MATCH :q")
        else:
            query = text(
                "SELECT message_id FROM mail_texts WHERE search_vector @@ to_tsquery('simple', :q)"
            )
        return {row[0] for row in connection.execute(query, {"q": term})}


def test_every_broken_message_is_stored_listed_and_searchable(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    corpus = {path.name: path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))}
    address = new_mailbox(mailenv)
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", list(corpus.values()))
    account_id = make_account(runtime, tenant.company_id, mailenv, address)

    result = fetch(runtime, tenant.company_id, account_id)

    assert result.error is None and result.new_messages == len(corpus)
    with runtime.tenant(tenant.company_id) as session:
        rows = {
            row.content_sha256: row
            for row in session.scalars(
                select(MailMessage).where(MailMessage.account_id == account_id)
            )
        }
        texts = set(session.scalars(select(MailText.message_id)))
    by_name = {name: rows[hashlib.sha256(raw).hexdigest()] for name, raw in corpus.items()}
    assert set(texts) >= {row.id for row in rows.values()}  # every one indexed

    eight_bit = by_name["raw-8bit-headers.eml"]
    assert eight_bit.subject == "Zamówienie żółtej farby osóbnokodowane"  # cp1250 fallback
    assert eight_bit.from_name == "Paweł Żuławski"
    assert by_name["unknown-charset.eml"].subject.startswith("Faktura za pa")
    assert by_name["no-message-id.eml"].message_id_header is None
    duplicates = [by_name["duplicate-message-id-a.eml"], by_name["duplicate-message-id-b.eml"]]
    assert {row.message_id_header for row in duplicates} == {"same-id@example.test"}
    assert duplicates[0].id != duplicates[1].id
    broken = by_name["broken-base64-bad-date.eml"]
    assert broken.sent_date is None and "unreadable Date header" in (broken.parse_defects or [])
    assert broken.subject == "Zażółć gęślą jaźń"
    assert [a["filename"] for a in broken.attachments] == ["Faktura zżółta.pdf"]
    assert by_name["html-only-broken.eml"].auto_submitted  # List-* header (RFC 2369)
    assert "Wyprzedaż" in by_name["html-only-broken.eml"].snippet

    for name, word in (
        ("unknown-charset.eml", "nieznanokodowa"),
        ("raw-8bit-headers.eml", "ognisko8bit"),
        ("missing-boundary.eml", "bezgraniczny"),
        ("no-message-id.eml", "bezidentyfikatora"),
        ("duplicate-message-id-a.eml", "duplikatjeden"),
        ("duplicate-message-id-b.eml", "duplikatdwa"),
        ("broken-base64-bad-date.eml", "gęślą"),
        ("html-only-broken.eml", "niedomknietyhtml"),
    ):
        assert by_name[name].id in _search(runtime, word), name
