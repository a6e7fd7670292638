"""Full-text search over conversations: their subject and the body of every message.

The syntax is the same on both databases: words, "quoted phrases", ``or`` between two of
them, and -excluded words or phrases. Each word or phrase must appear in the subject or in
one of the messages (not necessarily the same one). Case and accents do not matter
("reclamation" finds "Réclamation"); words are not stemmed (French and English content
share one index).

The index lives outside the models (migration 0012, ``INDEX_OBJECTS``):

- SQLite: FTS5 tables over ``messages.body`` and ``conversations.subject`` (external
  content, kept in step by triggers), ranked by bm25;
- PostgreSQL: the ``comptoir_search`` configuration ('simple' behind ``unaccent``),
  ``messages.search_vector`` (a stored tsvector) with a GIN index, a GIN expression index
  on the subject; ``websearch_to_tsquery`` parses each term, ``ts_rank`` ranks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce
from typing import Protocol

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    column,
    false,
    func,
    literal,
    literal_column,
    select,
    table,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from helpdesk.models import Conversation, Message

MAX_TERMS = 16
OR = ""  # the token standing for "or" between two terms (no term is empty)
SUBJECT_WEIGHT = 2.0  # a word in the subject counts twice as much as in a message
TERM = re.compile(r'(-?)"([^"]*)"?|(-?)(\S+)')  # a phrase's closing quote may be missing
SEARCHABLE = re.compile(r"[^\W_]")  # a letter or a digit: the tokenizers drop the rest
HITS = "search_hits"  # the joined scores' name: list queries order by ``SCORE``
SCORE = literal_column(f"{HITS}.score")
# The search index's schema objects (migration 0012), which the models do not describe.
INDEX_OBJECTS = frozenset({"message_fts", "conversation_subject_fts", "search_vector",
                           "ix_messages_search_vector", "ix_conversations_subject_search"})
FTS5_SHADOW_TABLES = re.compile(r"^(message_fts|conversation_subject_fts)_\w+$")


@dataclass(frozen=True)
class SearchTerms:
    """What a search asks: each ``required`` group has one of its terms (``a or b``), no
    ``excluded`` term is there. A term is a word or a phrase's words."""

    required: tuple[tuple[str, ...], ...] = ()
    excluded: tuple[str, ...] = ()


def parse(text: str) -> SearchTerms:
    """The terms of a search box's text."""
    required: list[tuple[str, ...]] = []
    excluded: list[str] = []
    either = False  # the previous word was "or"
    for term, negated in _tokens(text):
        if term == OR:
            either = bool(required)  # a leading "or" joins nothing
        elif negated:
            excluded.append(term)
        elif either:
            required[-1], either = (*required[-1], term), False
        else:
            required.append((term,))
    return SearchTerms(tuple(dict.fromkeys(required))[:MAX_TERMS],
                       tuple(dict.fromkeys(excluded))[:MAX_TERMS])


def _tokens(text: str) -> Iterator[tuple[str, bool]]:
    """(term, negated) for each searchable word or phrase; ``OR`` for an unquoted "or"."""
    for match in TERM.finditer(text):
        quoted = match.group(2) is not None
        term = " ".join((match.group(2) if quoted else match.group(4)).replace('"', " ").split())
        negated = bool(match.group(1) or match.group(3))
        if not quoted and not negated and term.lower() == "or":
            yield OR, False
        elif SEARCHABLE.search(term):
            yield term, negated


def is_index_object(name: str | None) -> bool:
    """True for a table, column or index of the search index (not in the models)."""
    return name is not None and (name in INDEX_OBJECTS or bool(FTS5_SHADOW_TABLES.match(name)))


def described_by_models(name: str | None, _type: str, _parents: object) -> bool:
    """Alembic's ``include_name`` hook: compare everything but the search index."""
    return not is_index_object(name)


def narrowed(session: Session, query: Select, terms: SearchTerms) -> Select:
    """``query`` (over ``Conversation``) cut down to the search's conversations: joined to
    their scores (``SCORE``, when a term is required), without the excluded ones."""
    backend = _backend(session)
    if not terms.required and not terms.excluded:
        return query.where(false())
    if terms.required:
        scores = _scores(backend, terms.required)
        query = query.join(scores, scores.c.id == Conversation.id)
    for term in terms.excluded:
        hits = union_all(*backend.parts(0, (term,)))
        query = query.where(Conversation.id.not_in(select(hits.subquery().c.id)))
    return query


def _scores(backend: _Backend, groups: tuple[tuple[str, ...], ...]) -> Subquery:
    """One row per conversation with every group somewhere: its score is, per group, the
    best message's plus the subject's. Each group's index is read once."""
    parts = union_all(*[part for n, group in enumerate(groups)
                        for part in backend.parts(n, group)]).subquery()
    scores = select(parts.c.id, func.sum(parts.c.score).label("score")).group_by(parts.c.id)
    if len(groups) > 1:  # (a condition the planner cannot estimate: only when needed)
        scores = scores.having(func.count(parts.c.term_group.distinct()) == len(groups))
    return scores.subquery(HITS)


class _Backend(Protocol):
    def parts(self, number: int, group: tuple[str, ...]) -> list[Select]:
        """(id, term_group, score) of the conversations with one of ``group``'s terms: one row
        per conversation from the messages (the best one), one from the subjects."""


def _backend(session: Session) -> _Backend:
    return _POSTGRES if session.get_bind().dialect.name == "postgresql" else _SQLITE


# --- SQLite: FTS5 -------------------------------------------------------------------------

# ``rank`` is bm25 (lower is better); unlike bm25() it may be aggregated.
MESSAGE_FTS = table("message_fts", column("rowid"), column("body"), column("rank"))
SUBJECT_FTS = table("conversation_subject_fts", column("rowid"), column("subject"),
                    column("rank"))


def fts5_phrase(term: str) -> str:
    """A term as an FTS5 phrase: quoted, so no character of it is query syntax."""
    return '"' + term.replace('"', '""') + '"'


class _Fts5:
    def parts(self, number: int, group: tuple[str, ...]) -> list[Select]:
        """bm25, negated (higher is better)."""
        match = " OR ".join(fts5_phrase(term) for term in group)
        bodies = (select(Message.conversation_id.label("id"), literal(number).label("term_group"),
                         func.max(-MESSAGE_FTS.c.rank).label("score"))
                  .select_from(MESSAGE_FTS.join(Message, Message.id == MESSAGE_FTS.c.rowid))
                  .where(MESSAGE_FTS.c.body.match(match))
                  .group_by(Message.conversation_id))
        subjects = (select(SUBJECT_FTS.c.rowid.label("id"), literal(number).label("term_group"),
                           (-SUBJECT_FTS.c.rank * SUBJECT_WEIGHT).label("score"))
                    .where(SUBJECT_FTS.c.subject.match(match)))
        return [bodies, subjects]


# --- PostgreSQL: tsvector -----------------------------------------------------------------

CONFIG = literal_column("'comptoir_search'::regconfig")
MESSAGE_VECTOR = literal_column("messages.search_vector")
RANK_NORMALIZATION = 1  # divide by 1 + log(length): a long email does not win by length


def _tsquery(term: str) -> ColumnElement:
    # Quoted: websearch syntax inside a term ("or", "-") stays words of the phrase.
    return func.websearch_to_tsquery(CONFIG, f'"{term}"')


class _TsVector:
    def parts(self, number: int, group: tuple[str, ...]) -> list[Select]:
        """ts_rank, from the stored vectors for the messages."""
        query = reduce(lambda a, b: a.op("||")(b), [_tsquery(term) for term in group])
        bodies = (select(Message.conversation_id.label("id"), literal(number).label("term_group"),
                         func.max(func.ts_rank(MESSAGE_VECTOR, query, RANK_NORMALIZATION))
                         .label("score"))
                  .where(MESSAGE_VECTOR.op("@@")(query))
                  .group_by(Message.conversation_id))
        conversation = aliased(Conversation)  # never correlated with an outer query's
        # The expression of the index ix_conversations_subject_search.
        subject = func.to_tsvector(CONFIG, conversation.subject)
        subjects = (select(conversation.id.label("id"), literal(number).label("term_group"),
                           (func.ts_rank(subject, query) * SUBJECT_WEIGHT).label("score"))
                    .where(subject.op("@@")(query)))
        return [bodies, subjects]


_SQLITE = _Fts5()
_POSTGRES = _TsVector()
