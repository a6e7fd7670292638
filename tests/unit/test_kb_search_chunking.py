"""Cutting an article into the chunks the search index holds."""

import pytest

from knowledge_base.models import ArticleContent, ChunkKind
from knowledge_base.search.chunking import ChunkDraft, chunk_article, embedding_text


def chunks(body: str = "", questions: list[str] | None = None,
           max_chars: int = 800) -> list[ChunkDraft]:
    content = ArticleContent(title="Title", body=body, example_questions=questions or [])
    return chunk_article(content, max_chars=max_chars)


def test_sections_follow_the_headings_and_keep_them():
    body = "Intro text.\n\n# Fees\nFee text.\n\n## Limits ##\nLimit text."
    assert [(d.position, d.heading, d.text) for d in chunks(body)] == [
        (0, "", "Intro text."), (1, "Fees", "Fee text."), (2, "Limits", "Limit text.")]


def test_a_hash_line_inside_a_code_block_is_not_a_heading():
    body = "# Setup\n```\n# not a heading\nrun it\n```\nDone."
    drafts = chunks(body)
    assert [d.heading for d in drafts] == ["Setup"]
    assert drafts[0].text == "```\n# not a heading\nrun it\n```\nDone."


def test_paragraphs_are_packed_while_they_fit():
    body = "\n\n".join(["a" * 30, "b" * 30, "c" * 30])
    assert [d.text for d in chunks(body, max_chars=70)] == [
        "a" * 30 + "\n\n" + "b" * 30, "c" * 30]


def test_an_over_long_paragraph_is_cut_between_sentences():
    body = "First sentence here. Second sentence here. Third one."
    assert [d.text for d in chunks(body, max_chars=45)] == [
        "First sentence here. Second sentence here.", "Third one."]


def test_an_unbroken_over_long_word_is_cut_at_max_chars():
    assert [d.text for d in chunks("x" * 25, max_chars=10)] == ["x" * 10, "x" * 10, "x" * 5]


def test_an_over_long_sentence_among_others_is_cut_between_words():
    body = "Short one. " + " ".join(["longword"] * 30) + ". End here."
    for draft in chunks(body, max_chars=100):
        assert all(word in {"Short", "one.", "longword", "longword.", "End", "here."}
                   for word in draft.text.split()), draft.text


@pytest.mark.parametrize("max_chars", [12, 40, 120])
def test_every_chunk_fits_in_max_chars(max_chars):
    body = ("# Heading\n" + "Some words here. " * 20 + "\n\n" + "y" * 300
            + "\n\nTail paragraph.\n\n## Next\n" + "word " * 80)
    drafts = chunks(body, max_chars=max_chars)
    assert drafts
    assert max(len(d.text) for d in drafts) <= max_chars


def test_example_questions_follow_the_body_with_consecutive_positions():
    drafts = chunks("# A\nOne.\n\n# B\nTwo.", [" How do I pay? ", "Can I pay later?"])
    assert [(d.position, d.kind, d.text) for d in drafts] == [
        (0, ChunkKind.CHUNK, "One."), (1, ChunkKind.CHUNK, "Two."),
        (2, ChunkKind.QUESTION, "How do I pay?"), (3, ChunkKind.QUESTION, "Can I pay later?")]


def test_blank_example_questions_are_dropped():
    drafts = chunks("Body.", ["  ", "Real question?", ""])
    assert [(d.position, d.text) for d in drafts if d.kind is ChunkKind.QUESTION] == [
        (1, "Real question?")]


def test_an_empty_body_still_gives_one_chunk_for_the_title():
    assert chunks("", ["Why?"]) == [ChunkDraft(ChunkKind.CHUNK, 0, "", ""),
                                    ChunkDraft(ChunkKind.QUESTION, 1, "Why?")]


def test_embedding_text_puts_title_and_heading_above_a_body_chunk():
    draft = ChunkDraft(ChunkKind.CHUNK, 0, "Fee text.", "Fees")
    assert embedding_text("Pricing", draft) == "Pricing\nFees\nFee text."


def test_embedding_text_of_a_chunk_without_heading_skips_the_blank_line():
    draft = ChunkDraft(ChunkKind.CHUNK, 0, "Fee text.")
    assert embedding_text("Pricing", draft) == "Pricing\nFee text."


def test_embedding_text_of_a_question_is_the_question_alone():
    draft = ChunkDraft(ChunkKind.QUESTION, 3, "How much is it?", "Fees")
    assert embedding_text("Pricing", draft) == "How much is it?"

