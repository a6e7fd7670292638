"""``comptoir kb import`` / ``export`` on a real database: JSONL and Markdown folders."""

import json
import textwrap

import pytest
from sqlalchemy import delete, func, select

from benchmarks import banking77_kb
from helpdesk.extensions import db
from knowledge_base import articles
from knowledge_base.exporter import article_record
from knowledge_base.models import Article, ArticleStatus, ArticleVersion, ExampleQuestion

RETURNS = {"id": "returns", "title": "Returns", "body": "# Returns\n\nWithin 30 days.",
           "language": "en", "category": "Orders", "tags": ["returns"], "audience": "public",
           "status": "published", "example_questions": ["Can I return my order?"]}
SIZES = {"id": "sizes", "title": "Size guide", "body": "Measure twice.", "language": "fr",
         "tags": [], "audience": "internal", "example_questions": ["Quelle taille ?"]}


def write_jsonl(path, *records):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n"
                            for r in records), encoding="utf-8")
    return path


def run(runner, *args, code=0):
    result = runner.invoke(args=["kb", *map(str, args)])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def stored(app):
    """Every article as the export writes it, oldest first."""
    with app.app_context():
        return [article_record(a) for a in articles.all_articles(db.session)]


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_import_creates_then_updates_then_leaves_unchanged(runner, app, tmp_path):
    source = write_jsonl(tmp_path / "kb.jsonl", RETURNS, SIZES)
    assert run(runner, "import", source).stdout.splitlines()[-1] == (
        "created 2, updated 0, unchanged 0, rejected 0")
    assert stored(app) == [RETURNS, SIZES | {"category": "", "status": "draft"}]
    assert run(runner, "import", source).stdout.splitlines()[-1] == (
        "created 0, updated 0, unchanged 2, rejected 0")
    write_jsonl(source, RETURNS | {"title": "Returns policy"}, SIZES | {"status": "archived"})
    assert run(runner, "import", source).stdout.splitlines()[-1] == (
        "created 0, updated 2, unchanged 0, rejected 0")
    with app.app_context():
        returns, sizes = articles.all_articles(db.session)
        assert (returns.title, returns.current_version, returns.status) == (
            "Returns policy", 2, ArticleStatus.PUBLISHED)
        # A new publication state is an update, but not a new version of the content.
        assert (sizes.current_version, sizes.status) == (1, ArticleStatus.ARCHIVED)
    assert count(app, ArticleVersion) == 3


def test_bad_lines_are_reported_and_the_rest_import(runner, app, tmp_path):
    source = write_jsonl(tmp_path / "kb.jsonl", RETURNS, '{"title": "Broken",', "",
                         {"title": "German", "language": "de"},
                         {"title": "Live", "status": "live"}, {"title": ""}, SIZES)
    result = run(runner, "import", source, code=1)
    assert result.stdout.splitlines()[-1] == "created 2, updated 0, unchanged 0, rejected 4"
    reasons = [line.removeprefix(f"{source}: ") for line in result.stderr.splitlines()]
    assert reasons.pop(0).startswith("line 2: not valid JSON (")
    assert reasons == [
        "line 4: language 'de' is not one of en, fr",
        "line 5: 'live' is not one of draft, published, archived",
        "line 6: title is required",
    ]
    assert [a["id"] for a in stored(app)] == ["returns", "sizes"]
    assert count(app, ArticleVersion) == 2  # nothing half-written for the rejected ones


def test_markdown_folder_import(runner, app, tmp_path):
    folder = tmp_path / "kb"
    (folder / "orders").mkdir(parents=True)
    (folder / "orders" / "returns.md").write_text(textwrap.dedent("""\
        ---
        id: returns
        title: Returns
        status: published
        tags: [returns]
        example_questions:
          - Can I return my order?
        ---

        # Returns

        Within 30 days.
        """), encoding="utf-8")
    (folder / "no-front-matter.md").write_text("# Just Markdown\n", encoding="utf-8")
    (folder / "bad.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not an article", encoding="utf-8")
    result = run(runner, "import", folder, code=1)
    assert result.stdout.splitlines()[-1] == "created 1, updated 0, unchanged 0, rejected 2"
    reasons = [line.removeprefix(f"{folder}: ") for line in result.stderr.splitlines()]
    assert reasons[0].startswith("bad.md: front matter is not valid YAML (line 3: ")
    assert reasons[1].startswith("no-front-matter.md: no front matter")
    [returns] = stored(app)
    assert returns == {"id": "returns", "title": "Returns", "body": "# Returns\n\nWithin 30 days.",
                       "language": "en", "category": "", "tags": ["returns"],
                       "audience": "public", "status": "published",
                       "example_questions": ["Can I return my order?"]}


@pytest.mark.parametrize("target", ["export.jsonl", "export-folder"])
def test_export_then_import_gives_the_same_articles(runner, app, tmp_path, target):
    tricky = {"id": "tricky/1", "title": "Ünïcode: « quotes » & colons",
              "body": "---\n\nA rule above.  \nHard break, <b>html</b>\n\n    indented code",
              "language": "fr", "category": "Misc", "tags": ["a: b", "#hash"],
              "audience": "internal", "status": "archived",
              "example_questions": ["- starts with a dash", "yes", "null", "12"]}
    run(runner, "import", write_jsonl(tmp_path / "kb.jsonl", RETURNS, SIZES, tricky))
    before = stored(app)
    output = tmp_path / target
    assert run(runner, "export", output).stdout.splitlines()[-1] == (
        f"exported 3 articles to {output}")
    with app.app_context():
        db.session.execute(delete(Article))
        db.session.commit()
    assert run(runner, "import", output).stdout.splitlines()[-1] == (
        "created 3, updated 0, unchanged 0, rejected 0")
    assert stored(app) == before


def test_export_refuses_a_folder_with_files_in_it(runner, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.md").write_text("old", encoding="utf-8")
    result = run(runner, "export", tmp_path / "full", code=1)
    assert "is not empty: export into a new folder" in result.output


def test_the_banking77_knowledge_base_imports(runner, app, tmp_path):
    train = banking77_kb.train_csv()
    if not train.is_file():
        pytest.skip(f"BANKING77 not found at {train} (set {banking77_kb.SHARED_DATA_ENV})")
    source = tmp_path / "banking77.jsonl"
    assert banking77_kb.write_kb(train, source) == 77
    assert run(runner, "import", source).stdout.splitlines()[-1] == (
        "created 77, updated 0, unchanged 0, rejected 0")
    with app.app_context():
        imported = articles.all_articles(db.session)
        assert {a.status for a in imported} == {ArticleStatus.PUBLISHED}
        atm = next(a for a in imported if a.external_id == "banking77-atm_support")
        assert atm.title == "ATM support" and len(atm.example_questions) > 50
    # 10,003 training texts, 4 of them repeated within their category.
    assert count(app, ExampleQuestion) == 9999
