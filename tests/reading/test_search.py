"""Full-text search: the same answers on SQLite (FTS5) and PostgreSQL (tsvector), and only
from the accounts the user may see (E1, E2)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import text

from postroom.config import Settings
from postroom.db.migrate import upgrade
from postroom.db.models import User
from postroom.db.models_mailbox import MailMessage
from postroom.enums import FolderRole
from postroom.errors import NotFoundError, ValidationError
from postroom.secrets import new_key
from postroom.services import search
from postroom.services.runtime import Runtime, build_runtime
from tests.fixtures.fill_mailbox import Series
from tests.reading.support import add_folder, corpus, mailbox, store
from tests.support import Member, Tenant, make_tenant

CORPUS_FILES = (
    "alternative_pl.eml",
    "remote_and_script.eml",
    "attachment_pl.eml",
    "inline_cid.eml",
    "thread_1.eml",
    "thread_2.eml",
    "thread_3.eml",
    "iso8859_2.eml",
)
SERIES_MESSAGES = 80
SECRET_WORD = "wynagrodzeniapoufne"

# (query, filters): each is asked on both engines and must give the same ids in the same order.
QUERIES: list[tuple[str, search.SearchFilter]] = [
    ("żółć", search.SearchFilter()),
    ("ŻÓŁĆ", search.SearchFilter()),
    ("zolc", search.SearchFilter()),
    ("faktura", search.SearchFilter()),
    ("fak", search.SearchFilter()),
    ("faktura płatność", search.SearchFilter()),
    ("płatność faktura", search.SearchFilter()),
    ("lukasz.wroblewski@klient.example.test", search.SearchFilter()),
    ("klient.example", search.SearchFilter()),
    ("wróbl", search.SearchFilter()),
    ('"gęślą jaźń"', search.SearchFilter()),
    ('"jaźń gęślą"', search.SearchFilter()),
    ('"termin płatności" 14', search.SearchFilter()),
    ("2026", search.SearchFilter()),
    ("12", search.SearchFilter()),
    ("łódź", search.SearchFilter()),
    ("deklaracji", search.SearchFilter()),
    ("newsletter oferta", search.SearchFilter()),
    ("invoice meeting", search.SearchFilter()),
    ("ś", search.SearchFilter()),
    ("Re: spotkanie", search.SearchFilter()),
    ("nieistniejącesłowo", search.SearchFilter()),
    ("faktura", search.SearchFilter(has_attachments=True)),
    ("faktura", search.SearchFilter(has_attachments=False)),
    ("pozdrawiam", search.SearchFilter(from_address="klient.example.test")),
    ("spotkanie", search.SearchFilter(date_from=date(2026, 11, 16), date_to=date(2026, 11, 16))),
    ("faktura", search.SearchFilter(date_to=date(2024, 1, 31))),
    (SECRET_WORD, search.SearchFilter()),
]


@dataclass(frozen=True)
class Loaded:
    runtime: Runtime
    tenant: Tenant
    user: Member  # may see the company account, not the other user's personal one
    inbox: int
    archive: int


@cache
def series_messages() -> tuple[bytes, ...]:
    series = Series(seed=7)
    return tuple(series.message(i)[0] for i in range(SERIES_MESSAGES))


def load(runtime: Runtime, slug: str = "alfa") -> Loaded:
    """The same data set on any engine: the corpus, a realistic series, and a hidden account."""
    tenant = make_tenant(runtime, f"Biuro Rachunkowe {slug}", slug)
    user = tenant.add_user()
    owner = tenant.add_user()
    account, inbox = mailbox(runtime, tenant, f"biuro@{slug}.example.test")
    archive = add_folder(runtime, tenant, account, "Archiwum", FolderRole.ARCHIVE)
    store(runtime, tenant, inbox, [corpus(name) for name in CORPUS_FILES])
    store(runtime, tenant, archive, list(series_messages()))
    _, private_inbox = mailbox(runtime, tenant, f"kadry@{slug}.example.test", owner=owner.id)
    secret = (
        "From: kadry@alfa.example.test\nTo: kadry@alfa.example.test\n"
        f"Subject: Lista {SECRET_WORD}\nMessage-ID: <secret@alfa.example.test>\n\nfaktura\n"
    )
    store(runtime, tenant, private_inbox, [secret.encode()])
    return Loaded(runtime, tenant, user, inbox, archive)


def ask(
    loaded: Loaded,
    query: str,
    filters: search.SearchFilter | None = None,
    *,
    as_admin: bool = False,
    order: search.SearchOrder = search.SearchOrder.DATE,
) -> list[str]:
    """Message-IDs of the matches (ids could differ between engines; Message-IDs do not)."""
    member = loaded.tenant.admin if as_admin else loaded.user
    with loaded.runtime.tenant(loaded.tenant.company_id) as session:
        actor = session.get(User, member.id)
        assert actor is not None
        rows, total = search.search_mail(
            session,
            actor=actor,
            query=query,
            filters=filters or search.SearchFilter(),
            order=order,
            limit=500,
        )
        assert total == len(rows)
        return [row.message_id_header or f"#{row.id}" for row in rows]


def _fresh_runtime(tmp_path: Path, url: str) -> Runtime:
    """A new, migrated database (PostgreSQL: the schema made again, as tests/conftest.py does)."""
    settings = Settings(data_dir=tmp_path, database_url=url, secret_key=new_key())  # type: ignore[arg-type]
    runtime = build_runtime(settings)
    if runtime.engine.dialect.name == "postgresql":
        with runtime.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(runtime.engine)
    return runtime


@pytest.fixture
def both_engines(tmp_path: Path) -> Iterator[tuple[Loaded, Loaded]]:
    url = os.environ.get("POSTROOM_TEST_DATABASE_URL")
    if not url:
        pytest.skip("POSTROOM_TEST_DATABASE_URL is not set: no PostgreSQL to compare with")
    lite = _fresh_runtime(tmp_path / "sqlite", f"sqlite:///{tmp_path / 'search.db'}")
    postgres = _fresh_runtime(tmp_path / "postgresql", url)
    try:
        yield load(lite), load(postgres)
    finally:
        lite.close()
        postgres.close()


def test_sqlite_and_postgresql_find_the_same_messages(both_engines: tuple[Loaded, Loaded]) -> None:
    lite, postgres = both_engines
    for query, filters in QUERIES:
        found = ask(lite, query, filters)
        assert found == ask(postgres, query, filters), (query, filters)
        assert ask(lite, query, filters, as_admin=True) == ask(
            postgres, query, filters, as_admin=True
        ), (query, filters)
        # Ranked by relevance, the same messages (the engines' scores differ, not the matches).
        ranked = sorted(ask(lite, query, filters, order=search.SearchOrder.RELEVANCE))
        assert ranked == sorted(found), query
        assert sorted(ask(postgres, query, filters, order=search.SearchOrder.RELEVANCE)) == ranked
    # The comparison means something: most queries find mail, some find much.
    assert sum(1 for q, f in QUERIES if ask(lite, q, f)) >= len(QUERIES) - 5
    assert len(ask(lite, "faktura")) > 10


@pytest.fixture
def loaded(runtime: Runtime) -> Loaded:
    return load(runtime)


def test_polish_words_match_in_any_case_but_not_without_their_letters(loaded: Loaded) -> None:
    assert ask(loaded, "żółć") == ["alt-1@klient.example.test"]
    assert ask(loaded, "ŻÓŁĆ") == ["alt-1@klient.example.test"]
    assert ask(loaded, "zolc") == []  # no letters are folded away: ż is not z
    # An 8-bit ISO-8859-2 body and RFC 2047 headers are searchable in their own words.
    assert ask(loaded, "deklaracji") == ["iso-1@urzad.example.test"]
    assert ask(loaded, "Bożena Ślęzak") == ["iso-1@urzad.example.test"]


def test_addresses_are_split_into_words_and_the_last_word_is_a_prefix(loaded: Loaded) -> None:
    assert ask(loaded, "lukasz.wroblewski@klient.example.test") == ["alt-1@klient.example.test"]
    # Quoted, an address is a phrase: its words in a row (here in the Cc line).
    assert ask(loaded, '"m.zolkiewska@klient.example.test"') == ["alt-1@klient.example.test"]
    # The last word is a prefix: "wróbl" finds Wróblewski and Wróblewska.
    full, start = set(ask(loaded, "wróblewski")), set(ask(loaded, "wróbl"))
    assert "alt-1@klient.example.test" in full
    assert full < start
    assert ask(loaded, "wróbl faktura") == []  # only the last word is a prefix
    assert set(ask(loaded, "faktura wróbl")) == start & set(ask(loaded, "faktura"))


def test_phrases_must_be_consecutive_words_of_one_field(loaded: Loaded) -> None:
    phrase = ask(loaded, '"gęślą jaźń"')
    assert {"iso-1@urzad.example.test", "alt-1@klient.example.test"} <= set(phrase)
    assert set(phrase) <= set(ask(loaded, "gęślą jaźń"))
    assert ask(loaded, "jaźń gęślą") != []
    assert ask(loaded, '"jaźń gęślą"') == []  # the same words, not in this order
    assert ask(loaded, '"termin płatności" 14') == ["alt-1@klient.example.test"]


def test_filters_narrow_the_results(loaded: Loaded) -> None:
    attached = ask(loaded, "faktura", search.SearchFilter(has_attachments=True))
    assert "attach-1@klient.example.test" in attached
    assert "alt-1@klient.example.test" not in attached
    in_inbox = ask(loaded, "faktura", search.SearchFilter(folder_id=loaded.inbox))
    assert set(in_inbox) == {"alt-1@klient.example.test", "attach-1@klient.example.test"}
    day = search.SearchFilter(date_from=date(2026, 11, 16), date_to=date(2026, 11, 16))
    assert ask(loaded, "spotkanie", day) == [
        "thread-3@klient.example.test",
        "thread-2@alfa.example.test",
        "thread-1@klient.example.test",
    ]
    sender = search.SearchFilter(from_address="URZAD.example")
    assert ask(loaded, "gęślą", sender) == ["iso-1@urzad.example.test"]


def test_search_covers_only_accounts_the_user_may_see(loaded: Loaded) -> None:
    assert ask(loaded, SECRET_WORD) == []
    assert ask(loaded, SECRET_WORD, as_admin=True) == ["secret@alfa.example.test"]
    assert "secret@alfa.example.test" not in ask(loaded, "faktura")


def test_another_companys_mail_is_never_found(loaded: Loaded) -> None:
    other = load(loaded.runtime, "beta")  # the same mail in a second company
    assert ask(loaded, SECRET_WORD, as_admin=True) == ["secret@alfa.example.test"]
    with loaded.runtime.tenant(loaded.tenant.company_id) as session:
        admin = session.get(User, loaded.tenant.admin.id)
        assert admin is not None
        rows, total = search.search_mail(session, actor=admin, query="faktura", limit=500)
        assert total == len(rows) > 0
        companies = {row.company_id for row in rows}
    assert companies == {loaded.tenant.company_id}
    with loaded.runtime.tenant(loaded.tenant.company_id) as session:
        admin = session.get(User, loaded.tenant.admin.id)
        assert admin is not None
        their_folder = search.SearchFilter(folder_id=other.inbox)
        with pytest.raises(NotFoundError):
            search.search_mail(session, actor=admin, query="faktura", filters=their_folder)


@pytest.mark.parametrize("query", ["", "   ", "!!! ---", '""', "_ _"])
def test_a_query_without_words_is_invalid(query: str) -> None:
    with pytest.raises(ValidationError) as caught:
        search.parse_terms(query)
    assert caught.value.problems[0].field == "q"


def test_query_syntax_for_each_engine() -> None:
    terms = search.parse_terms('Faktura "Gęślą  jaźń" ŻÓŁ')
    assert terms == search.SearchTerms(("gęślą", "jaźń", "faktura", "żół"), True, ("gęślą jaźń",))
    assert search.fts5_query(terms) == '"gęślą" "jaźń" "faktura" "żół"*'
    assert search.tsquery(terms) == "'gęślą' & 'jaźń' & 'faktura' & 'żół':*"
    # Words that are operators in either syntax are just words.
    closed = search.parse_terms('AND OR NOT NEAR "a b"')
    assert not closed.prefix
    assert search.fts5_query(closed) == '"a" "b" "and" "or" "not" "near"'


def test_relevance_puts_the_best_match_first(loaded: Loaded) -> None:
    ranked = ask(loaded, "spotkanie środę", order=search.SearchOrder.RELEVANCE)
    assert set(ranked[:3]) >= {"thread-1@klient.example.test"}
    with loaded.runtime.tenant(loaded.tenant.company_id) as session:
        count = session.query(MailMessage).count()
    assert count == len(CORPUS_FILES) + SERIES_MESSAGES + 1
