"""Reading import files: each article is located (line number, file name); errors say why."""

import json
import re

import pytest

from knowledge_base.importer import RecordError, read_jsonl, record_from, split_front_matter
from knowledge_base.models import ArticleContent


def jsonl(*lines: str) -> bytes:
    return "\n".join(lines).encode()


def test_jsonl_records_carry_every_field():
    line = json.dumps({"id": "ret-1", "title": "Returns", "body": "# Returns", "language": "fr",
                       "category": "Orders", "tags": ["returns"], "audience": "internal",
                       "status": "published", "example_questions": ["Can I return?"]})
    [entry] = read_jsonl(jsonl(line))
    assert entry.location == "line 1" and entry.error == ""
    assert entry.record.external_id == "ret-1" and entry.record.status == "published"
    assert entry.record.content == ArticleContent(
        title="Returns", body="# Returns", language="fr", category="Orders", tags=["returns"],
        audience="internal", example_questions=["Can I return?"])


def test_jsonl_errors_name_their_line_and_the_rest_is_read():
    entries = read_jsonl(jsonl(
        '{"title": "One"}',
        "",
        '{"title": "Two",}',
        '["not", "an", "object"]',
        '{"title": "Four", "example_question": ["typo"]}',
        '{"title": "Five", "id": ["x"]}',
        '{"title": "Six"}',
    ))
    errors = {e.location: e.error for e in entries if e.error}
    # json's wording changes across Python versions; the position does not.
    assert re.fullmatch(r"not valid JSON \(.+ at column 17\)", errors.pop("line 3"))
    assert list(errors.items()) == [
        ("line 4", "expected an object with the article's fields"),
        ("line 5", "unknown field(s): example_question (known: id, title, body, language, "
                   "category, tags, audience, status, example_questions)"),
        ("line 6", "id must be text or a whole number"),
    ]
    assert [(e.location, e.record.content.title) for e in entries if e.record] == [
        ("line 1", "One"), ("line 7", "Six")]


def test_jsonl_lines_are_split_on_newlines_only_and_must_be_utf8():
    entries = read_jsonl(b'{"title": "A\xe2\x80\xa8B"}\r\n\xff\xfe\n')
    assert entries[0].record.content.title == "A\u2028B"
    assert (entries[1].location, entries[1].error) == ("line 2", "not UTF-8 text")


def test_missing_and_null_fields_take_the_defaults():
    record = record_from({"title": "T", "category": None, "tags": None, "id": 42})
    assert record.external_id == "42" and record.status == "draft"
    assert record.content == ArticleContent(title="T", language="", audience="public")


@pytest.mark.parametrize("value", [True, 1.5, {"a": 1}])
def test_an_id_must_be_text_or_a_whole_number(value):
    with pytest.raises(RecordError, match="id must be text or a whole number"):
        record_from({"title": "T", "id": value})


def test_front_matter_and_body_are_split():
    front, body = split_front_matter(
        "---\r\ntitle: Returns\r\ntags: [returns, refunds]\r\n---\r\n\r\n# Returns\r\n")
    assert front == {"title": "Returns", "tags": ["returns", "refunds"]}
    assert body == "\n# Returns\n"


def test_an_empty_front_matter_is_no_fields():
    assert split_front_matter("---\n---\nbody") == ({}, "body")


@pytest.mark.parametrize(("text", "reason"), [
    ("# Returns\n", "no front matter"),
    ("---\ntitle: Returns\n# Returns\n", "no front matter"),
    ("---\ntitle: Returns\ntags: [a, b\n---\nbody", "not valid YAML (line 4: "),
    ("---\n- a list\n---\nbody", "must be YAML fields"),
])
def test_front_matter_errors_say_why(text, reason):
    with pytest.raises(RecordError, match=reason.replace("(", r"\(")):
        split_front_matter(text)
