"""Search tokens and the BM25 index, updated in place."""

import pytest

from knowledge_base.search import lexical
from knowledge_base.search.lexical import BM25Index
from knowledge_base.search.text import tokens

DOCS = {1: "Reset your password from the sign-in page.",
        2: "Card delivery takes five working days.",
        3: "Password expiry policy for staff accounts.",
        4: "Reset a blocked card in the app."}


def index_of(docs: dict[int, str]) -> BM25Index:
    index = BM25Index()
    index.add(list(docs), list(docs.values()))
    return index


def ids(hits: list[tuple[int, float]]) -> list[int]:
    return [chunk_id for chunk_id, _ in hits]


def test_a_rare_word_finds_its_chunk():
    assert ids(index_of(DOCS).search("delivery", 10)) == [2]


def test_a_chunk_with_every_query_word_ranks_first_and_scores_decrease():
    hits = index_of(DOCS).search("reset password", 10)
    assert ids(hits)[0] == 1
    assert set(ids(hits)) == {1, 3, 4}
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0


def test_k_limits_the_hits():
    assert ids(index_of(DOCS).search("reset password", 1)) == [1]


def test_a_query_without_known_words_finds_nothing():
    assert index_of(DOCS).search("the zebra", 10) == []


def test_a_removed_chunk_is_not_found_and_leaves_no_empty_postings():
    index = index_of(DOCS)
    index.remove([2])
    assert index.search("delivery", 10) == []
    assert len(index) == 3
    assert "delivery" not in index._postings  # an empty posting list would linger forever


def test_removing_an_unknown_id_changes_nothing():
    index = index_of(DOCS)
    index.remove([99])
    assert len(index) == 4 and ids(index.search("delivery", 10)) == [2]


def test_re_adding_an_id_replaces_its_text_and_statistics():
    index = index_of(DOCS)
    index.add([2], ["Change the email address on your account."])
    assert index.search("delivery", 10) == []
    fresh = index_of({**DOCS, 2: "Change the email address on your account."})
    assert index.search("email password", 10) == fresh.search("email password", 10)
    assert ids(index.search("email", 10)) == [2]


def test_also_candidates_are_scored_when_only_common_terms_match(monkeypatch):
    monkeypatch.setattr(lexical, "SCAN_LIMIT", 3)
    index = index_of({n: f"card number {n}" if n != 2 else "card card card" for n in range(1, 7)})
    assert index.search("card", 10) == []  # "card" is in more than SCAN_LIMIT chunks
    hits = index.search("card", 10, also=[5, 2, 99])
    assert ids(hits) == [2, 5]
    assert all(score > 0 for _, score in hits)


def test_also_candidates_are_scored_on_every_query_term(monkeypatch):
    monkeypatch.setattr(lexical, "SCAN_LIMIT", 3)
    index = index_of({n: f"card {n}" for n in range(1, 6)} | {6: "card refund", 7: "refund policy"})
    hits = index.search("card refund", 10, also=[6, 1])
    assert ids(hits) == [6, 7, 1]  # 6 matches both terms, 7 (as long) only one


def test_tokens_fold_accents_and_case():
    assert tokens("Où se trouve mon REÇU") == tokens("ou se trouve mon recu") == [
        "trouve", "recu"]
    assert tokens("Été café") == ["ete", "cafe"]


def test_tokens_keep_codes_whole():
    assert tokens("Error AB-1234 after update v2.1.") == ["error", "ab-1234", "after",
                                                         "update", "v2.1"]


@pytest.mark.parametrize(("text", "expected"), [
    ("How do I reset my password?", ["reset", "password"]),
    ("Comment je change mon mot de passe ?", ["comment", "change", "mot", "passe"]),
])
def test_tokens_drop_stop_words_in_english_and_french(text, expected):
    assert tokens(text) == expected


def test_tokens_drop_the_french_possessive_ma():
    assert tokens("ma carte") == ["carte"]


def test_tokens_drop_french_elided_articles():
    assert tokens("l'état d'un compte") == ["etat", "compte"]
