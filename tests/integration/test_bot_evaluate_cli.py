"""``comptoir bot evaluate`` end to end: a tiny KB, a few questions, the real model."""

import json

import pytest

from bot.cli import bot_group
from tests.integration.bot_kb import IN_SCOPE, OUT_OF_SCOPE, write_kb, write_questions

KEYS = {"n", "in_scope_accuracy", "oos_recall", "wrong_answer_rate", "coverage"}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    from click.testing import CliRunner

    folder = tmp_path_factory.mktemp("evaluate")
    kb, questions = write_kb(folder / "kb.jsonl"), write_questions(folder / "q.jsonl")
    details = folder / "details.jsonl"
    result = CliRunner().invoke(bot_group, [
        "evaluate", "--kb", str(kb), "--questions", str(questions), "--details", str(details)])
    assert result.exit_code == 0, result.output
    lines = details.read_text(encoding="utf-8").splitlines()
    return json.loads(result.stdout.strip().splitlines()[-1]), [json.loads(x) for x in lines]


def test_it_prints_the_metrics_as_one_json_object(evaluated):
    metrics, _ = evaluated
    assert set(metrics) == KEYS
    assert metrics["n"] == len(IN_SCOPE) + len(OUT_OF_SCOPE)
    assert all(0.0 <= metrics[k] <= 1.0 for k in KEYS - {"n"})


def test_the_metrics_follow_from_the_details(evaluated):
    metrics, details = evaluated
    in_scope = [d for d in details if d["expected"] is not None]
    out_of_scope = [d for d in details if d["expected"] is None]
    answered = [d for d in details if d["action"] != "escalate"]
    assert metrics["in_scope_accuracy"] == round(
        sum(d["article"] == d["expected"] for d in in_scope) / len(in_scope), 4)
    assert metrics["oos_recall"] == round(
        sum(d["action"] == "escalate" for d in out_of_scope) / len(out_of_scope), 4)
    assert metrics["coverage"] == round(len(answered) / len(details), 4)
    wrong = sum(d["article"] != d["expected"] for d in answered)
    assert metrics["wrong_answer_rate"] == round(wrong / len(answered), 4)


def test_the_small_shop_is_mostly_answered_right(evaluated):
    metrics, details = evaluated
    assert metrics["in_scope_accuracy"] >= 0.6
    assert metrics["oos_recall"] >= 2 / 3
    assert [d["text"] for d in details] == [t for t, _ in IN_SCOPE] + OUT_OF_SCOPE


def test_each_detail_line_says_what_was_done_and_why(evaluated):
    _, details = evaluated
    for line in details:
        assert line["action"] in {"answer", "clarify", "escalate"}
        assert (line["article"] is None) == (line["action"] == "escalate")
        assert (line["reason"] is None) == (line["action"] != "escalate")
        assert line["threshold"] is not None
        if line["action"] == "clarify":
            assert line["options"][0] == line["article"] and 2 <= len(line["options"]) <= 3


def test_a_questions_file_that_is_not_jsonl_is_a_one_line_error(tmp_path):
    from click.testing import CliRunner

    kb = write_kb(tmp_path / "kb.jsonl")
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"text": "hello", "expected": 3}\n', encoding="utf-8")
    result = CliRunner().invoke(bot_group, ["evaluate", "--kb", str(kb),
                                            "--questions", str(questions)])
    assert result.exit_code == 1
    assert "questions line 1" in result.output


def test_a_details_file_in_a_missing_folder_is_refused_before_the_replay(tmp_path):
    from click.testing import CliRunner

    kb, questions = write_kb(tmp_path / "kb.jsonl"), write_questions(tmp_path / "q.jsonl")
    details = tmp_path / "missing" / "details.jsonl"
    result = CliRunner().invoke(bot_group, ["evaluate", "--kb", str(kb), "--questions",
                                            str(questions), "--details", str(details)])
    assert result.exit_code == 2
    assert "--details" in result.output and "does not exist" in result.output
    assert "replayed" not in result.output
