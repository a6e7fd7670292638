"""The in-memory search index: edits, filters, the no-shared-word floor, the classifier."""

from dataclasses import dataclass, field

import numpy as np
import pytest

from knowledge_base.models import ArticleStatus, Audience, ChunkKind
from knowledge_base.search import engine
from knowledge_base.search.classifier import ArticleClassifier
from knowledge_base.search.engine import SearchFilters, SearchHit, SearchIndex
from knowledge_base.search.lexical import BM25Index
from knowledge_base.search.store import ChunkRow
from knowledge_base.search.vector_index import FaissIndex
from tests.fakes import FakeEmbedder

EMBEDDER = FakeEmbedder()
ALL_STATUSES = (ArticleStatus.DRAFT, ArticleStatus.PUBLISHED)


@dataclass
class ArticleRows:
    """One article's chunks to index: body texts, then example questions."""

    id: int
    body: list[str]
    questions: list[str] = field(default_factory=list)
    version: int = 1
    language: str = "en"
    audience: Audience = Audience.PUBLIC
    status: ArticleStatus = ArticleStatus.PUBLISHED
    category: str = "general"
    first_chunk_id: int = 0

    def rows(self) -> list[ChunkRow]:
        texts = self.body + self.questions
        kinds = [ChunkKind.CHUNK] * len(self.body) + [ChunkKind.QUESTION] * len(self.questions)
        start = self.first_chunk_id or self.id * 100
        return [ChunkRow(start + n, self.id, self.version, kind, text, self.language,
                         self.audience, self.status, self.category, vector.tobytes())
                for n, (kind, text, vector) in enumerate(
                    zip(kinds, texts, EMBEDDER.encode(texts), strict=True))]


def index_of(*articles: ArticleRows) -> SearchIndex:
    index = SearchIndex(FaissIndex(), BM25Index())
    for article in articles:
        index.replace_articles([article.id], article.rows())
    return index


def search(index: SearchIndex, text: str, filters: SearchFilters | None = None,
           limit: int = 10) -> list[SearchHit]:
    return index.search(text, EMBEDDER.encode([text])[0], filters or SearchFilters(), limit)


def found(index: SearchIndex, text: str, filters: SearchFilters | None = None,
          limit: int = 10) -> list[int]:
    return [hit.article_id for hit in search(index, text, filters, limit)]


LOST_CARD = ArticleRows(1, ["Block a lost or stolen card straight away from the app."],
                    ["I lost my card", "my card was stolen", "block my card"])
TRANSFER = ArticleRows(2, ["Send money abroad with an international transfer."],
                   ["how do I send money abroad", "transfer money to another country"])
TOP_UP = ArticleRows(3, ["Top up your balance by bank transfer or debit card."],
                 ["how to top up", "add money to my balance"])


def test_a_query_finds_the_article_it_is_about():
    assert found(index_of(LOST_CARD, TRANSFER, TOP_UP), "stolen card")[0] == 1


def test_an_edit_replaces_the_old_chunks_in_both_indexes():
    index = index_of(LOST_CARD, TRANSFER)
    edited = ArticleRows(1, ["Freeze your debit card from the security tab."], version=2,
                     first_chunk_id=150)
    index.replace_articles([1], edited.rows())
    assert 1 not in found(index, "stolen")
    assert [(h.article_id, h.version, h.chunk_id) for h in search(index, "freeze security")] == [
        (1, 2, 150)]
    assert sorted(index.by_article[1]) == [150] and 1 not in index.questions
    assert len(index.vectors) == len(index.lexical) == len(TRANSFER.rows()) + 1


def test_replacing_an_article_with_no_rows_removes_it():
    index = index_of(LOST_CARD, TRANSFER)
    index.replace_articles([1], [])
    assert found(index, "stolen card") == []
    assert set(index.by_article) == {2} and set(index.questions) == {2}


def test_a_hit_carries_the_indexed_version_and_one_of_its_chunks():
    index = index_of(ArticleRows(4, ["Refunds arrive within five days."], ["where is my refund"],
                             version=7))
    [hit] = search(index, "refund")
    assert (hit.article_id, hit.version) == (4, 7)
    assert hit.chunk_id in index.by_article[4]
    assert hit.lexical and hit.lexical > 0 and hit.dense and hit.dense > 0


REFUND = "Refund policy for returned orders."
VARIANTS = [ArticleRows(1, [REFUND]), ArticleRows(2, [REFUND], language="fr"),
            ArticleRows(3, [REFUND], audience=Audience.INTERNAL),
            ArticleRows(4, [REFUND], status=ArticleStatus.DRAFT),
            ArticleRows(5, [REFUND], category="billing")]


@pytest.mark.parametrize(("filters", "expected"), [
    (SearchFilters(), {1, 2, 5}),
    (SearchFilters(language="fr"), {2}),
    (SearchFilters(audiences=(Audience.INTERNAL,)), {3}),
    (SearchFilters(statuses=(ArticleStatus.DRAFT,)), {4}),
    (SearchFilters(category="billing"), {5}),
    (SearchFilters(language="en", audiences=tuple(Audience), statuses=ALL_STATUSES,
                   category="general"), {1, 3, 4}),
])
def test_filters_exclude_what_they_do_not_admit(filters, expected):
    assert set(found(index_of(*VARIANTS), "refund policy", filters)) == expected


def test_an_unrelated_query_sharing_no_word_finds_nothing():
    index = index_of(LOST_CARD, TRANSFER, TOP_UP)
    hits = index.search("zebra", EMBEDDER.encode(["zebra"])[0], SearchFilters(), 10)
    assert hits == []
    assert index.vectors.search(EMBEDDER.encode(["zebra"])[0], 1)  # dense found *something*


def test_a_close_meaning_without_shared_words_is_kept():
    index = index_of(LOST_CARD, TRANSFER)
    vector = EMBEDDER.encode(["send money abroad"])[0]  # as if the model saw the meaning
    assert [h.article_id for h in index.search("zebra", vector, SearchFilters(), 10)] == [2]


def test_dense_search_widens_past_neighbours_the_filters_reject(monkeypatch):
    monkeypatch.setattr(engine, "DENSE_K", 1)
    internal = [ArticleRows(n, [REFUND], audience=Audience.INTERNAL) for n in (1, 2, 3)]
    index = index_of(*internal, ArticleRows(4, [REFUND + " Details inside."]))
    vector = EMBEDDER.encode([REFUND])[0]
    assert [h.article_id for h in index.search("zebra", vector, SearchFilters(), 10)] == [4]


def test_the_limit_caps_the_articles_returned():
    index = index_of(*[ArticleRows(n, [f"Refund step {n} for orders."]) for n in range(1, 7)])
    assert len(found(index, "refund orders", limit=2)) == 2
    assert len(found(index, "refund orders", limit=10)) == 6


def test_question_vectors_are_kept_per_article_for_the_classifier():
    index = index_of(LOST_CARD, TRANSFER, ArticleRows(9, ["No questions here."]))
    assert {a: len(v) for a, v in index.questions.items()} == {1: 3, 2: 2}


def test_with_a_trained_classifier_the_right_article_still_comes_first():
    index = index_of(LOST_CARD, TRANSFER, TOP_UP)
    index.classifier = ArticleClassifier.train(index.questions)
    assert index.classifier is not None
    for query, expected in [("someone stole my card", 1), ("send money to another country", 2),
                            ("top up my balance", 3)]:
        hits = search(index, query)
        assert hits[0].article_id == expected, query
        assert hits[0].classifier is not None



class NearestChunkOnly:
    """A vector index that only ever returns the single nearest chunk."""

    def __init__(self, inner: FaissIndex) -> None:
        self.inner = inner

    def __len__(self) -> int:
        return 1

    def search(self, vector, k):
        return self.inner.search(vector, 1)

    def search_many(self, vectors, k):
        return self.inner.search_many(vectors, 1)


def test_articles_past_the_dense_cut_get_their_own_cosine_not_a_floor():
    index = index_of(LOST_CARD, TRANSFER, TOP_UP)
    index.classifier = ArticleClassifier.train(index.questions)
    index.vectors = NearestChunkOnly(index.vectors)
    query = "send money to another country"
    vector = EMBEDDER.encode([query])[0]
    hits = index.search(query, vector, SearchFilters(), 10)
    assert len(hits) >= 2
    for hit in hits:
        assert hit.dense == pytest.approx(max(index.questions[hit.article_id] @ vector))


def test_searching_many_queries_at_once_finds_what_each_search_finds():
    index = index_of(LOST_CARD, TRANSFER, TOP_UP)
    index.classifier = ArticleClassifier.train(index.questions)
    queries = [("send money to another country", SearchFilters()),
               ("I lost my card", SearchFilters(language="fr")),
               ("top up my account", SearchFilters())]
    vectors = EMBEDDER.encode([text for text, _ in queries])
    batched = index.search_many(queries, vectors, 10)
    alone = [index.search(text, vector, filters, 10)
             for (text, filters), vector in zip(queries, vectors, strict=True)]
    assert [[(h.article_id, h.chunk_id) for h in hits] for hits in batched] == \
        [[(h.article_id, h.chunk_id) for h in hits] for hits in alone]
    # A batch's matrix products may round the last float32 bit differently.
    assert [h.score for hits in batched for h in hits] == \
        pytest.approx([h.score for hits in alone for h in hits], rel=1e-5)
    assert batched[0] and batched[2] and not batched[1]
    assert index.search_many([], vectors[:0], 10) == []


def test_a_batch_widens_only_the_queries_whose_filters_reject_the_nearest(monkeypatch):
    monkeypatch.setattr(engine, "DENSE_K", 1)
    internal = [ArticleRows(n, [REFUND], audience=Audience.INTERNAL) for n in (1, 2, 3)]
    index = index_of(*internal, ArticleRows(4, [REFUND + " Details inside."]))
    vector = EMBEDDER.encode([REFUND])[0]
    staff = SearchFilters(audiences=tuple(Audience))
    public, everyone = index.search_many([("zebra", SearchFilters()), ("zebra", staff)],
                                         np.vstack([vector, vector]), 10)
    assert [h.article_id for h in public] == [4]
    assert len(everyone) == 4


def test_filters_see_articles_added_after_an_earlier_search():
    index = index_of(LOST_CARD)
    french = SearchFilters(language="fr")
    assert found(index, "carte perdue", french) == []
    index.replace_articles([7], ArticleRows(7, ["Carte perdue : bloquez-la."], ["carte perdue"],
                                            language="fr").rows())
    assert found(index, "carte perdue", french) == [7]


def test_the_nearest_question_follows_an_article_edit():
    index = index_of(LOST_CARD, TRANSFER, TOP_UP)
    index.classifier = ArticleClassifier.train(index.questions)
    query = "I lost my card"
    vector = EMBEDDER.encode([query])[0]
    [before] = [h for h in search(index, query) if h.article_id == 3]
    index.replace_articles([3], ArticleRows(3, ["Top up."], ["I lost my card and my phone"])
                           .rows())
    index.vectors = NearestChunkOnly(index.vectors)  # article 3 is past the dense cut
    [after] = [h for h in search(index, query) if h.article_id == 3]
    assert after.dense == pytest.approx(float(max(index.questions[3] @ vector)))
    assert after.dense > before.dense + 0.1
