"""``comptoir bot evaluate --engine rasa``: the options, and a replay through a fake Rasa
(the HTTP client itself: tests/integration/test_rasa_http_client.py)."""

import json

import pytest
from click.testing import CliRunner

from bot import rasa_engine
from bot.cli import bot_group
from tests.integration.bot_kb import write_kb
from tests.unit.test_rasa_evaluate import HANDOFF, ScriptedRasa, faq_reply

QUESTIONS = [{"text": "Where is my order?", "expected": "parcel"},
             {"text": "Do you sell bikes?", "expected": None}]


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


@pytest.fixture
def rasa(monkeypatch):
    """The client the command builds, answering from a script; its URL and timeout."""
    made = {}

    def client(url: str, timeout: float) -> ScriptedRasa:
        made.update(url=url, timeout=timeout)
        return ScriptedRasa({"Where is my order?": faq_reply(3, "parcel"),
                             "Do you sell bikes?": HANDOFF})

    monkeypatch.setattr(rasa_engine, "HttpRasaClient", client)
    return made


def evaluate(*args, code=0):
    result = CliRunner().invoke(bot_group, ["evaluate", *map(str, args)])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def test_it_prints_the_builtin_metrics_with_handoffs_and_latency(rasa, questions, tmp_path):
    details = tmp_path / "details.jsonl"
    result = evaluate("--engine", "rasa", "--rasa-url", "http://127.0.0.1:5005",
                      "--questions", questions, "--details", details)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert {k: figures[k] for k in ("n", "in_scope_accuracy", "oos_recall", "coverage",
                                    "wrong_answer_rate", "handoff_rate")} == {
        "n": 2, "in_scope_accuracy": 1.0, "oos_recall": 1.0, "coverage": 0.5,
        "wrong_answer_rate": 0.0, "handoff_rate": 0.5}
    assert figures["latency_p50_ms"] <= figures["latency_p95_ms"]
    assert rasa["url"] == "http://127.0.0.1:5005"
    lines = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    assert [(d["action"], d["article"]) for d in lines] == [("answer", "parcel"),
                                                           ("handoff", None)]


def test_the_url_may_come_from_comptoir_rasa_url(rasa, questions, monkeypatch):
    monkeypatch.setenv("COMPTOIR_RASA_URL", "http://rasa.internal:5005")
    evaluate("--engine", "rasa", "--questions", questions)
    assert rasa["url"] == "http://rasa.internal:5005"


@pytest.mark.parametrize(("options", "message"), [
    (["--engine", "rasa"], "an http(s) URL is required with --engine rasa"),
    (["--engine", "rasa", "--rasa-url", "127.0.0.1:5005"], "got '127.0.0.1:5005'"),
    (["--engine", "rasa", "--rasa-url", "http://x", "--kb", "KB"],
     "give --kb only with --engine builtin"),
    ([], "--kb"),
])
def test_options_that_do_not_fit_the_engine_are_refused(options, message, questions,
                                                         tmp_path, monkeypatch):
    monkeypatch.delenv("COMPTOIR_RASA_URL", raising=False)
    kb = write_kb(tmp_path / "kb.jsonl")
    options = [str(kb) if option == "KB" else option for option in options]
    result = evaluate(*options, "--questions", questions, code=2)
    assert message in result.output
