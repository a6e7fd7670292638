"""The knowledge base as Rasa retrieval intents: keys, examples, answers and the YAML."""

import yaml

from bot.rasa_export import (
    ENTITY_MARKUP,
    domain_data,
    faq_entries,
    faq_key,
    nlu_data,
    responses_data,
    rules_data,
    short_answer,
    to_yaml,
)
from knowledge_base.models import Article, ArticleStatus, Audience, ExampleQuestion


def article(number: int = 7, title: str = "Returns: how?", body: str = "Within 30 days.",
            questions: tuple[str, ...] = ("Can I return it?",), **fields) -> Article:
    values = {"id": number, "external_id": f"ext-{number}", "title": title, "body": body,
              "language": "en", "category": "", "tags": [], "audience": Audience.PUBLIC,
              "status": ArticleStatus.PUBLISHED, "current_version": 3,
              "questions": [ExampleQuestion(text=text, position=n)
                            for n, text in enumerate(questions)]}
    return Article(**(values | fields))


def rasa_examples(block: str) -> list[str]:
    """How Rasa reads an ``examples: |`` block (rasa_yaml._parse_multiline_example)."""
    return [line[1:].strip("\n\r ") for line in block.splitlines() if line.startswith("-")]


def test_the_key_is_the_id_and_the_title_slug_without_a_slash():
    assert faq_key(article(12, "Où est mon colis / ma commande ?")) == (
        "12-ou-est-mon-colis-ma-commande")


def test_the_title_and_the_example_questions_are_the_examples():
    [entry], duplicates = faq_entries([article(questions=("Can I return it?", "refund?"))])
    assert entry.examples == ("Returns: how?", "Can I return it?", "refund?")
    assert duplicates == 0


def test_an_example_is_one_line_and_never_read_as_an_entity():
    [entry], _ = faq_entries([article(questions=("my [card](type) and [pin]{x}\n  now",))])
    assert entry.examples[1] == "my [card] (type) and [pin] {x} now"
    assert not ENTITY_MARKUP.search(entry.examples[1])


def test_an_example_of_an_earlier_article_is_left_out_and_counted():
    first = article(1, "Returns", questions=("Can I return it?", "Can I return it?"))
    second = article(2, "Refunds", questions=("Can I return it?", "money back"))
    third = article(3, "Refunds", questions=("money back",))
    entries, duplicates = faq_entries([first, second, third])
    assert [e.examples for e in entries] == [("Returns", "Can I return it?"),
                                             ("Refunds", "money back")]
    assert duplicates == 3  # the third article has nothing of its own: left out


def test_the_answer_is_the_first_body_chunk_as_the_engine_gives_it():
    body = "# Returns\n\nWithin **30** days, see [the form](/returns).\n\n# Other\n\nMore."
    assert short_answer(article(body=body)) == "Within 30 days, see the form."
    assert short_answer(article(body="")) == "Returns: how?"
    long = " ".join(["A sentence of some words."] * 30)
    assert len(short_answer(article(body=long))) <= 300


def test_the_response_cites_the_article_and_names_it():
    [entry], _ = faq_entries([article(12, "Returns")])
    responses = yaml.safe_load(to_yaml(responses_data([entry])))["responses"]
    assert responses == {"utter_faq/12-returns": [{
        "text": "Within 30 days.",
        "custom": {"citation": {"article_id": 12, "version": 3, "title": "Returns",
                                "url": "/help/en/articles/12-returns"},
                   "faq": {"key": "12-returns", "external_id": "ext-12"}}}]}


def test_the_nlu_yaml_reads_back_as_rasa_reads_it():
    tricky = ('"quoted" & #hash', "- a dash: first", "émoji ✓ 'single'", "key: value")
    [entry], _ = faq_entries([article(5, "Returns", questions=tricky)])
    text = to_yaml(nlu_data([entry]))
    data = yaml.safe_load(text)
    assert data["version"] == "3.1"
    [intent] = data["nlu"]
    assert intent["intent"] == "faq/5-returns"
    assert rasa_examples(intent["examples"]) == ["Returns", *tricky]
    assert '- intent: "faq/5-returns"\n  examples: |\n' in text


def test_the_rule_and_the_domain_name_the_retrieval_intent():
    assert yaml.safe_load(to_yaml(rules_data()))["rules"][0]["steps"] == [
        {"intent": "faq"}, {"action": "utter_faq"}]
    assert yaml.safe_load(to_yaml(domain_data()))["intents"] == ["faq"]
