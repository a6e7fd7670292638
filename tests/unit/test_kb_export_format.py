"""The export formats read back as the same record (the files themselves: integration)."""

import json

from benchmarks.banking77_kb import article_record as banking77_record
from benchmarks.banking77_kb import humanise
from knowledge_base.exporter import article_record, markdown_file
from knowledge_base.importer import read_jsonl, record_from, split_front_matter
from knowledge_base.models import Article, ArticleStatus, Audience, ExampleQuestion


def article(**fields) -> Article:
    values = {"id": 7, "external_id": "returns", "title": "Returns: how?",
              "body": "# Returns\n\n---\n\nWithin *30* days.", "language": "fr",
              "category": "Orders", "tags": ["returns", "yes"], "audience": Audience.INTERNAL,
              "status": ArticleStatus.PUBLISHED,
              "questions": [ExampleQuestion(text="Puis-je retourner ?", position=0),
                            ExampleQuestion(text="- a dash: first", position=1)]}
    return Article(**(values | fields))


def test_a_markdown_file_reads_back_as_the_article():
    original = article()
    front, body = split_front_matter(markdown_file(original))
    assert record_from({**front, "body": body.strip()}) == record_from(article_record(original))
    assert body.strip() == original.body


def test_a_jsonl_line_reads_back_as_the_article():
    original = article()
    [entry] = read_jsonl(json.dumps(article_record(original)).encode())
    assert entry.record == record_from(article_record(original))
    assert entry.record.external_id == "returns" and entry.record.status == "published"
    assert entry.record.content.example_questions == ["Puis-je retourner ?", "- a dash: first"]


def test_an_article_without_external_id_is_exported_without_id():
    assert "id" not in article_record(article(external_id=None))
    assert "\nid:" not in markdown_file(article(external_id=None))


def test_banking77_titles_are_humanised():
    assert humanise("card_arrival") == "Card arrival"
    assert humanise("atm_support") == "ATM support"
    assert humanise("Refund_not_showing_up") == "Refund not showing up"
    assert humanise("reverted_card_payment?") == "Reverted card payment"
    assert banking77_record("change_pin", ["How?"]) == {
        "id": "banking77-change_pin", "title": "Change PIN", "body": "", "language": "en",
        "category": "BANKING77", "tags": [], "audience": "public", "status": "published",
        "example_questions": ["How?"]}
