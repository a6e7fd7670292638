"""``comptoir rasa export-faq`` on a real database: the files Rasa trains from."""

import json

import yaml

from bot.rasa_export import DOMAIN_FILE, NLU_FILE, RESPONSES_FILE, RULES_FILE
from helpdesk.extensions import db
from knowledge_base.models import Article

FILES = (NLU_FILE, RESPONSES_FILE, RULES_FILE, DOMAIN_FILE)


def record(key, title, language="en", status="published", audience="public", questions=()):
    return {"id": key, "title": title, "body": f"{title}: the answer. More details.",
            "language": language, "audience": audience, "status": status,
            "example_questions": list(questions)}


KB = [record("parcel", "Track your parcel", questions=["Where is my order?", "late parcel"]),
      record("colis", "Suivre mon colis", "fr", questions=["Où est ma commande ?"]),
      record("draft", "Not yet", status="draft", questions=["draft question"]),
      record("staff", "Staff only", audience="internal", questions=["internal question"])]


def import_kb(runner, tmp_path, records=KB):
    path = tmp_path / "kb.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert runner.invoke(args=["kb", "import", str(path)]).exit_code == 0


def export(runner, out, *options, code=0):
    result = runner.invoke(args=["rasa", "export-faq", str(out), *options])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def ids(app):
    with app.app_context():
        return {a.external_id: a.id for a in db.session.query(Article)}


def test_the_published_public_articles_become_faq_intents_and_responses(
        runner, app, tmp_path):
    import_kb(runner, tmp_path)
    result = export(runner, tmp_path / "rasa")
    article = ids(app)
    parcel, colis = f"{article['parcel']}-track-your-parcel", f"{article['colis']}-suivre-mon-colis"
    nlu = yaml.safe_load((tmp_path / "rasa" / NLU_FILE).read_text(encoding="utf-8"))
    assert [(i["intent"], i["examples"]) for i in nlu["nlu"]] == [
        (f"faq/{parcel}", "- Track your parcel\n- Where is my order?\n- late parcel\n"),
        (f"faq/{colis}", "- Suivre mon colis\n- Où est ma commande ?\n")]
    responses = yaml.safe_load((tmp_path / "rasa" / RESPONSES_FILE).read_text(encoding="utf-8"))
    [answer] = responses["responses"][f"utter_faq/{parcel}"]
    assert answer["text"] == "Track your parcel: the answer. More details."
    assert answer["custom"]["citation"] == {
        "article_id": article["parcel"], "version": 1, "title": "Track your parcel",
        "url": f"/help/en/articles/{parcel}"}
    assert answer["custom"]["faq"] == {"key": parcel, "external_id": "parcel"}
    assert result.stdout.splitlines()[-1].startswith("wrote 2 FAQ intents (5 examples")


def test_the_export_is_deterministic_and_replaces_its_files(runner, tmp_path):
    import_kb(runner, tmp_path)
    export(runner, tmp_path / "a")
    (tmp_path / "b" / "data").mkdir(parents=True)
    (tmp_path / "b" / NLU_FILE).write_text("stale", encoding="utf-8")
    export(runner, tmp_path / "b")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_lang_keeps_the_articles_in_that_language(runner, app, tmp_path):
    import_kb(runner, tmp_path)
    export(runner, tmp_path / "fr", "--lang", "fr")
    nlu = yaml.safe_load((tmp_path / "fr" / NLU_FILE).read_text(encoding="utf-8"))
    assert [i["intent"] for i in nlu["nlu"]] == [f"faq/{ids(app)['colis']}-suivre-mon-colis"]


def test_nothing_published_is_an_error_with_exit_code_2(runner, tmp_path):
    import_kb(runner, tmp_path, KB[2:])
    result = export(runner, tmp_path / "rasa", code=2)
    assert "no published public articles: nothing to export" in result.output
    assert not (tmp_path / "rasa").exists()
    result = export(runner, tmp_path / "rasa", "--lang", "de", code=2)
    assert "'de' is not a language of this site" in result.output


def test_an_out_dir_that_cannot_be_written_is_an_error_with_exit_code_2(runner, tmp_path):
    import_kb(runner, tmp_path)
    (tmp_path / "file").write_text("", encoding="utf-8")
    result = export(runner, tmp_path / "file" / "rasa", code=2)
    assert f"cannot write to {tmp_path / 'file' / 'rasa'}" in result.output
    result = export(runner, tmp_path / "file", code=2)
    assert "is a file" in result.output
