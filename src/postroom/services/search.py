"""Full-text search over subject, addresses and body of the mail a user may see (E1, E2).

SQLite answers from the FTS5 table `mail_search`, PostgreSQL from the tsvector column
`mail_texts.search_vector` (migration 0006). Both index the same words (search_text.py), and
the query is built from the same words here, so both find the same messages: every word must
occur (AND), the last one as a prefix ("fak" finds "faktura"); a "quoted phrase" must occur
as consecutive words of one field, which is checked on mail_texts itself, the same SQL on both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, literal_column, or_, select, table
from sqlalchemy.orm import Session

from postroom.db.models import User
from postroom.db.models_mailbox import MailMessage, MailText
from postroom.errors import ValidationError
from postroom.services import accounts, mail_reading
from postroom.services.search_text import searchable_words

MAX_WORDS = 20
_PHRASE = re.compile(r'"([^"]*)"')
_FTS_TABLE = table("mail_search", column("rowid"))


class SearchOrder(StrEnum):
    DATE = "date"  # newest first
    RELEVANCE = "relevance"  # bm25 (SQLite) / ts_rank_cd (PostgreSQL), then newest first


@dataclass(frozen=True)
class SearchTerms:
    """What the query asks for, in indexed words."""

    words: tuple[str, ...]  # all of them must occur
    prefix: bool  # the last word may be the start of a longer word
    phrases: tuple[str, ...]  # each: words separated by one space, consecutive in one field


@dataclass(frozen=True)
class SearchFilter:
    account_id: int | None = None
    folder_id: int | None = None
    from_address: str | None = None  # part of the sender's address
    date_from: date | None = None  # inclusive, UTC days
    date_to: date | None = None  # inclusive
    has_attachments: bool | None = None


def parse_terms(query: str) -> SearchTerms:
    """The user's words through searchable_words; "quoted phrases" kept together."""
    phrases = [searchable_words(p) for p in _PHRASE.findall(query)]
    phrases = [p for p in phrases if p]
    loose = searchable_words(_PHRASE.sub(" ", query).replace('"', " ")).split()
    words = [w for p in phrases for w in p.split()] + loose
    if not words:
        raise ValidationError.for_field("q", "Type at least one word or number to search for.")
    if len(words) > MAX_WORDS:
        raise ValidationError.for_field("q", f"Search for at most {MAX_WORDS} words.")
    # The last word is taken as the start of a word (still being typed), unless the query
    # ends with a "closed phrase".
    prefix = bool(loose) and not (phrases and query.rstrip().endswith('"'))
    return SearchTerms(words=tuple(words), prefix=prefix, phrases=tuple(phrases))


def fts5_query(terms: SearchTerms) -> str:
    """FTS5 syntax: each word quoted (so no word is read as AND/OR/NEAR), the last with *."""
    parts = [f'"{word}"' for word in terms.words]
    if terms.prefix:
        parts[-1] += "*"
    return " ".join(parts)


def tsquery(terms: SearchTerms) -> str:
    """PostgreSQL to_tsquery syntax: 'a' & 'b' & 'c':*."""
    parts = [f"'{word}'" for word in terms.words]
    if terms.prefix:
        parts[-1] += ":*"
    return " & ".join(parts)


def _phrase_condition(phrase: str) -> ColumnElement[bool]:
    # Fields hold words separated by single spaces, lower-case on both engines, and words
    # never contain % or _ (search_text.py), so LIKE is exact here.
    pattern = f"% {phrase} %"
    fields = (MailText.subject, MailText.addresses, MailText.body)
    return or_(*[(" " + field + " ").like(pattern) for field in fields])


def _postgresql_match(
    terms: SearchTerms, query: Select[Any], ranked: bool
) -> tuple[Select[Any], ColumnElement[Any] | None]:
    query = query.join(MailText, MailText.message_id == MailMessage.id)
    vector: ColumnElement[Any] = literal_column("mail_texts.search_vector")
    parsed = func.to_tsquery(literal_column("'simple'"), tsquery(terms))
    rank = -func.ts_rank_cd(vector, parsed) if ranked else None
    return query.where(vector.op("@@")(parsed)), rank


def _sqlite_match(
    terms: SearchTerms, query: Select[Any], ranked: bool
) -> tuple[Select[Any], ColumnElement[Any] | None]:
    # FTS5 must run once and drive the query: joined to mail_messages, SQLite would instead
    # ask the FTS table about each message in turn (100 times slower, worse for prefixes).
    match = literal_column("mail_search").op("MATCH")(fts5_query(terms))
    if terms.phrases:
        query = query.join(MailText, MailText.message_id == MailMessage.id)
    if not ranked:
        hits = select(_FTS_TABLE.c.rowid).where(match)
        return query.where(MailMessage.id.in_(hits)), None
    scored = (
        select(
            _FTS_TABLE.c.rowid.label("message_id"),
            func.bm25(literal_column("mail_search")).label("rank"),
        )
        .where(match)
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )
    query = query.join(scored, scored.c.message_id == MailMessage.id)
    return query, scored.c.rank


def _match(
    session: Session, terms: SearchTerms, query: Select[Any], *, ranked: bool = False
) -> tuple[Select[Any], ColumnElement[Any] | None]:
    """`query` narrowed to matching messages, and (if `ranked`) the relevance, best lowest."""
    if session.get_bind().dialect.name == "postgresql":
        return _postgresql_match(terms, query, ranked)
    return _sqlite_match(terms, query, ranked)


def _filter_conditions(
    session: Session, actor: User, filters: SearchFilter
) -> list[ColumnElement[bool]]:
    conditions = [mail_reading.visible_mail(actor)]
    if filters.account_id is not None:
        accounts.get_account(session, actor=actor, account_id=filters.account_id)  # else 404
        conditions.append(MailMessage.account_id == filters.account_id)
    if filters.folder_id is not None:
        mail_reading.get_folder(session, actor=actor, folder_id=filters.folder_id)
        conditions.append(MailMessage.folder_id == filters.folder_id)
    if filters.from_address:
        # Addresses are ASCII almost always; lower() agrees on both engines for ASCII.
        conditions.append(
            func.lower(MailMessage.from_address).contains(
                filters.from_address.strip().lower(), autoescape=True
            )
        )
    if filters.date_from is not None:
        conditions.append(MailMessage.sort_date >= _day_start(filters.date_from))
    if filters.date_to is not None:
        conditions.append(MailMessage.sort_date < _day_start(filters.date_to + timedelta(days=1)))
    if filters.has_attachments is not None:
        conditions.append(MailMessage.has_attachments.is_(filters.has_attachments))
    return conditions


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def search_mail(
    session: Session,
    *,
    actor: User,
    query: str,
    filters: SearchFilter = SearchFilter(),
    order: SearchOrder = SearchOrder.DATE,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[MailMessage], int]:
    """One page of the messages that match, and how many match in all."""
    terms = parse_terms(query)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ValidationError.for_field("date_to", "The end date is before the start date.")
    conditions = _filter_conditions(session, actor, filters)
    conditions += [_phrase_condition(phrase) for phrase in terms.phrases]
    matched, _ = _match(session, terms, select(MailMessage.id).where(*conditions))
    total = session.scalar(select(func.count()).select_from(matched.subquery()))
    ranked = order is SearchOrder.RELEVANCE
    rows_query, rank = _match(session, terms, select(MailMessage).where(*conditions), ranked=ranked)
    ordering: list[ColumnElement[Any]] = [MailMessage.sort_date.desc(), MailMessage.id.desc()]
    if rank is not None:
        ordering.insert(0, rank)
    rows = session.scalars(rows_query.order_by(*ordering).limit(limit).offset(offset))
    return list(rows), total or 0
