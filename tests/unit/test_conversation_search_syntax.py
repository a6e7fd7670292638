"""The search box's syntax (no database): words, phrases, or, exclusions; and saved view
filters as stored."""

import pytest

from helpdesk.models import Channel, ConversationStatus, Priority
from helpdesk.services.conversation_search import (
    MAX_TERMS,
    SearchTerms,
    described_by_models,
    fts5_phrase,
    parse,
)
from helpdesk.services.queries import Sort
from helpdesk.services.saved_views import ViewFilters


@pytest.mark.parametrize(("text", "expected"), [
    ("remboursement", SearchTerms((("remboursement",),))),
    ("  colis   cassé ", SearchTerms((("colis",), ("cassé",)))),
    ('"never arrived" parcel', SearchTerms((("never arrived",), ("parcel",)))),
    ("colis or parcel", SearchTerms((("colis", "parcel"),))),
    ("a OR b or c d", SearchTerms((("a", "b", "c"), ("d",)))),
    ('"or"', SearchTerms((("or",),))),
    ("or colis", SearchTerms((("colis",),))),  # a leading "or" joins nothing
    ("parcel -refund", SearchTerms((("parcel",),), ("refund",))),
    ('-"not this" x', SearchTerms((("x",),), ("not this",))),
    ('"unfinished phrase', SearchTerms((("unfinished phrase",),))),
    ('a"b', SearchTerms((("a b",),))),
    ("!!! ___ - -- \"\"", SearchTerms()),
    ("x x x", SearchTerms((("x",),))),
])
def test_parse(text, expected):
    assert parse(text) == expected


def test_a_search_keeps_a_bounded_number_of_terms():
    terms = parse(" ".join(f"w{n}" for n in range(50)))
    assert len(terms.required) == MAX_TERMS
    assert terms.required == tuple((f"w{n}",) for n in range(MAX_TERMS))


def test_fts5_phrases_quote_everything():
    assert fts5_phrase('say "hi"') == '"say ""hi"""'
    assert fts5_phrase("NEAR(a b)") == '"NEAR(a b)"'


def test_the_model_comparison_leaves_the_search_index_out():
    for name in ("message_fts", "message_fts_data", "conversation_subject_fts_idx",
                 "search_vector", "ix_messages_search_vector"):
        assert not described_by_models(name, "table", {})
    assert described_by_models("messages", "table", {})


def test_view_filters_are_stored_set_ones_only_and_read_back():
    filters = ViewFilters(statuses=[ConversationStatus.OPEN], assignee="me",
                          channel=Channel.EMAIL, priority=Priority.HIGH, q="colis",
                          sort=Sort.OLDEST)
    stored = filters.to_json()
    assert stored == {"statuses": ["open"], "assignee": "me", "channel": "email",
                      "priority": "high", "q": "colis", "sort": "oldest"}
    assert ViewFilters.from_json(stored) == filters


@pytest.mark.parametrize(("assignee", "expected"), [
    ("me", (7, False)), ("unassigned", (None, True)), (3, (3, False)), (None, (None, False)),
])
def test_me_is_whoever_looks_at_the_view(assignee, expected):
    seen = ViewFilters(assignee=assignee).for_user(7)
    assert (seen.assignee_id, seen.unassigned) == expected
