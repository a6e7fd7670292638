"""Article content rules: normalisation, errors naming the field, and version diffs."""

from dataclasses import replace

import pytest

from helpdesk.errors import ValidationFailed
from knowledge_base.articles import MAX_QUESTIONS, MAX_TAGS, diff_contents, normalised_content
from knowledge_base.models import ArticleContent, Audience

LANGUAGES = ["en", "fr"]
VALID = ArticleContent(title="Returns", body="Within 30 days.", language="en")


def normalised(**changes):
    return normalised_content(replace(VALID, **changes), LANGUAGES, "en")


def test_content_is_trimmed_and_deduplicated():
    content = normalised(
        title="  Returns   and\trefunds ", body="\r\n\r\nLine one  \r\nLine two\n\n  ",
        language="", category=" Orders ", tags=["Returns", " refunds ", "returns"],
        audience="internal",
        example_questions=["Can I  return it?", "can i return it?", "Refund time?"])
    assert content == ArticleContent(
        title="Returns and refunds", body="Line one  \nLine two", language="en",
        category="Orders", tags=["returns", "refunds"], audience=Audience.INTERNAL,
        example_questions=["Can I return it?", "Refund time?"])


def test_normalising_twice_changes_nothing():
    once = normalised(title=" A  b ", tags=["X"], example_questions=[" q  1 "], body="\n x \n")
    assert normalised_content(once, LANGUAGES, "en") == once


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"title": "  "}, "title", "title is required"),
    ({"title": "x" * 201}, "title", "title is at most 200 characters"),
    ({"title": None}, "title", "title must be text"),
    ({"body": ["not", "text"]}, "body", "body must be text"),
    ({"language": "de"}, "language", "language 'de' is not one of en, fr"),
    ({"category": "c" * 101}, "category", "category is at most 100 characters"),
    ({"audience": "everyone"}, "audience", "'everyone' is not one of public, internal"),
    ({"tags": "a,b"}, "tags", "tags must be a list of texts"),
    ({"tags": ["ok", ""]}, "tags", "tags item 2 must be a non-empty text"),
    ({"tags": ["t" * 51]}, "tags", "tags item 1 is longer than 50 characters"),
    ({"tags": [f"t{i}" for i in range(MAX_TAGS + 1)]}, "tags",
     f"tags has {MAX_TAGS + 1} items; at most {MAX_TAGS} are allowed"),
    ({"example_questions": ["fine", 3]}, "example_questions",
     "example_questions item 2 must be a non-empty text"),
    ({"example_questions": [f"q{i}" for i in range(MAX_QUESTIONS + 1)]}, "example_questions",
     f"example_questions has {MAX_QUESTIONS + 1} items; at most {MAX_QUESTIONS} are allowed"),
])
def test_invalid_content_names_the_field(changes, field, message):
    with pytest.raises(ValidationFailed) as caught:
        normalised(**changes)
    assert (caught.value.field, caught.value.message) == (field, message)


def test_the_diff_shows_each_changed_field_line_by_line():
    old = ArticleContent(title="Returns", body="Keep the receipt.\nWithin 30 days.",
                         language="en", tags=["returns"], example_questions=["Can I return?"])
    new = replace(old, body="Keep the receipt.\nWithin 60 days.",
                  example_questions=["Can I return?", "How long to return?"])
    diffs = diff_contents(old, new, "version 1", "version 2")
    assert [d.field for d in diffs] == ["body", "example_questions"]
    assert diffs[0].lines == ["--- version 1 body", "+++ version 2 body", "@@ -1,2 +1,2 @@",
                              " Keep the receipt.", "-Within 30 days.", "+Within 60 days."]
    assert diffs[1].lines[2:] == ["@@ -1 +1,2 @@", " Can I return?", "+How long to return?"]


def test_identical_contents_have_no_diff():
    assert diff_contents(VALID, replace(VALID), "a", "b") == []
