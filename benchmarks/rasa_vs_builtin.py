"""Rasa trained from ``comptoir rasa export-faq`` against the built-in engine, side by side
on BANKING77-OOS (the knowledge base and questions of ``benchmarks/bot_evaluate.py``).

1. The built-in engine: the knowledge base imported into a throw-away app (real model),
   calibrated, the questions replayed as ``comptoir bot evaluate`` does; then each
   question again, one at a time, to time ``engine.respond``.
2. ``export_faq`` from that app into a Rasa project, plus what any Rasa assistant has: a
   little small talk (greet, goodbye) and a rule handing over on ``nlu_fallback``
   (``{"handoff": ...}``, as the Rasa engine reads it). Rasa 3.6's default pipeline and
   policies (``rasa init``'s config) with ``--epochs`` for DIET, the ResponseSelector
   and the two TED policies. ``--oos-intent`` adds an ``out_of_scope`` intent trained on
   ``id-oos/train`` (handed over too): data the built-in engine does not get.
3. ``rasa data validate``, ``rasa train``, ``rasa run --enable-api`` on a free loopback
   port, then ``comptoir bot evaluate --engine rasa`` on the same questions (one at a
   time: the latency is Rasa's HTTP round trip per message)::

    nice -n 10 .venv/bin/python -m benchmarks.rasa_vs_builtin --oos-intent --write

The Rasa virtual environment is ``.venv-rasa`` (``make rasa``), or ``--rasa-venv``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmarks.bot_evaluate import (
    COMPTOIR,
    ROOT,
    labelled,
    oos_benchmark,
    oos_folder,
    pct,
    read_lines,
    write_jsonl,
)
from benchmarks.common import header, load_note, percentile, write_section
from bot.engine import BotContext
from bot.evaluate import (
    Question,
    calibrated_assistant,
    import_kb,
    metrics,
    read_questions,
    replay,
    throwaway_app,
)
from bot.rasa_export import DOMAIN_FILE, export_faq
from bot.responses import Escalate
from helpdesk.extensions import db

SECTION = "rasa-vs-builtin"
RASA_VENV = ROOT / ".venv-rasa"
DEFAULT_EPOCHS = 30
SERVER_START_SECONDS = 600.0
HANDOFF = {"handoff": {"reason": "low_confidence", "queue": None}}
GREET = ["hi", "hello", "hey", "hey there", "hello there", "good morning", "good afternoon",
         "good evening", "hi, is anyone there?", "morning"]
GOODBYE = ["bye", "goodbye", "bye bye", "see you", "see you later", "talk to you later",
           "have a nice day", "good night", "that's all, bye", "cheers, bye"]


@dataclass(frozen=True)
class EngineFigures:
    """One engine's metrics (``bot evaluate``'s keys) and its time per message."""

    metrics: dict[str, Any]
    p50_ms: float
    p95_ms: float


# --- the built-in engine, and the export --------------------------------------------------


def builtin_and_export(kb: Path, questions: list[Question],
                       project: Path) -> tuple[EngineFigures, str]:
    """The built-in engine's figures on ``questions``; ``export_faq`` into ``project``
    from the same app (its summary line)."""
    with throwaway_app(None) as app, app.app_context():
        external = import_kb(kb)
        assistant = calibrated_assistant(app)
        model = assistant.calibrator.model
        threshold = model.threshold if model else assistant.fallback.min_similarity
        outcomes = replay(assistant.engine, questions, external, threshold)
        seconds = [timed_respond(assistant.engine, question) for question in questions]
        summary = export_faq(db.session, project)
    figures = metrics(outcomes) | {"handoff_rate": round(
        sum(isinstance(o.action, Escalate) for o in outcomes) / len(outcomes), 4)}
    return EngineFigures(figures, percentile(seconds, 50) * 1000,
                         percentile(seconds, 95) * 1000), str(summary)


def timed_respond(engine: Any, question: Question) -> float:
    started = time.perf_counter()
    engine.respond(BotContext(language=question.language), question.text)
    return time.perf_counter() - started


# --- the Rasa project ---------------------------------------------------------------------


def write_project(project: Path, epochs: int, oos_texts: Sequence[str]) -> None:
    """The export (already in ``project``) completed into a trainable Rasa project."""
    (project / "domain").mkdir()
    (project / DOMAIN_FILE).rename(project / "domain" / "faq.yml")
    dump(project / "config.yml", rasa_config(epochs))
    intents = {"greet": GREET, "goodbye": GOODBYE}
    if oos_texts:
        intents["out_of_scope"] = list(dict.fromkeys(oos_texts))
    dump(project / "domain" / "assistant.yml", {
        "version": "3.1", "intents": list(intents),
        "responses": {"utter_greet": [{"text": "Hello! Ask me about your cards, payments "
                                                "and account."}],
                      "utter_goodbye": [{"text": "Goodbye!"}],
                      "utter_handoff": [{"text": "Let me pass you to a member of our team.",
                                         "custom": HANDOFF}]}})
    dump(project / "data" / "assistant.yml", {
        "version": "3.1",
        "nlu": [{"intent": name, "examples": "".join(f"- {t}\n" for t in texts)}
                for name, texts in intents.items()],
        "rules": [rule(intent, action) for intent, action in (
            ("greet", "utter_greet"), ("goodbye", "utter_goodbye"),
            ("nlu_fallback", "utter_handoff"),
            *([("out_of_scope", "utter_handoff")] if oos_texts else []))]})


def rasa_config(epochs: int) -> dict[str, Any]:
    """Rasa 3.6's default configuration (``rasa init``), ``epochs`` instead of 100."""
    return {
        "recipe": "default.v1", "assistant_id": "comptoir-benchmark", "language": "en",
        "pipeline": [
            {"name": "WhitespaceTokenizer"}, {"name": "RegexFeaturizer"},
            {"name": "LexicalSyntacticFeaturizer"}, {"name": "CountVectorsFeaturizer"},
            {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1,
             "max_ngram": 4},
            {"name": "DIETClassifier", "epochs": epochs, "constrain_similarities": True},
            {"name": "EntitySynonymMapper"},
            {"name": "ResponseSelector", "epochs": epochs, "constrain_similarities": True},
            {"name": "FallbackClassifier", "threshold": 0.3, "ambiguity_threshold": 0.1}],
        "policies": [
            {"name": "MemoizationPolicy"}, {"name": "RulePolicy"},
            {"name": "UnexpecTEDIntentPolicy", "max_history": 5, "epochs": epochs},
            {"name": "TEDPolicy", "max_history": 5, "epochs": epochs,
             "constrain_similarities": True}]}


def rule(intent: str, action: str) -> dict[str, Any]:
    return {"rule": f"{intent} -> {action}",
            "steps": [{"intent": intent}, {"action": action}]}


def dump(path: Path, content: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=10_000),
                    encoding="utf-8")


# --- running Rasa -------------------------------------------------------------------------


def rasa_venv(venv: Path) -> Path:
    if not (venv / "bin" / "rasa").exists():
        sys.exit(f"no Rasa in {venv}: run `make rasa`, or give --rasa-venv")
    return venv


def rasa(venv: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``rasa ARGS`` in ``project``; exits with its output's end when it fails."""
    result = subprocess.run(  # noqa: S603 -- our own arguments
        [str(venv / "bin" / "rasa"), *args], cwd=project, env=rasa_env(),
        capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"rasa {args[0]} failed:\n{(result.stdout + result.stderr)[-5000:]}")
    return result


def rasa_env() -> dict[str, str]:
    return os.environ | {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
                         "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}


def version_of(venv: Path) -> str:
    result = subprocess.run([str(venv / "bin" / "python"), "-c",  # noqa: S603
                             "import rasa; print(rasa.__version__)"],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def rasa_server(venv: Path, project: Path, model: Path) -> Iterator[tuple[str, float]]:
    """``rasa run --enable-api`` on a free loopback port: its URL and the seconds it took
    to answer; stopped afterwards."""
    port = free_port()
    log = (project / "rasa-run.log").open("w", encoding="utf-8")
    server = subprocess.Popen(  # noqa: S603 -- our own arguments
        [str(venv / "bin" / "rasa"), "run", "--enable-api", "--model", str(model),
         "--interface", "127.0.0.1", "--port", str(port)], cwd=project, env=rasa_env(),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        yield url, wait_until_up(url, server, project / "rasa-run.log")
    finally:
        server.terminate()
        server.wait(60)
        log.close()


def wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < SERVER_START_SECONDS:
        if server.poll() is not None:
            sys.exit(f"rasa run stopped:\n{log.read_text(encoding='utf-8')[-5000:]}")
        try:
            with urllib.request.urlopen(f"{url}/status", timeout=5) as response:  # noqa: S310
                if json.load(response).get("model_file"):
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(2)
    sys.exit(f"rasa run did not answer within {SERVER_START_SECONDS:.0f} s")


def evaluate_rasa(url: str, questions: Path, details: Path) -> EngineFigures:
    """``comptoir bot evaluate --engine rasa``'s figures."""
    result = subprocess.run(  # noqa: S603 -- our own CLI, arguments are paths we wrote
        [str(COMPTOIR), "bot", "evaluate", "--engine", "rasa", "--rasa-url", url,
         "--questions", str(questions), "--details", str(details)],
        capture_output=True, text=True, check=False, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(f"comptoir bot evaluate --engine rasa failed:\n{result.stderr}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return EngineFigures(figures, figures["latency_p50_ms"], figures["latency_p95_ms"])


# --- inputs and report --------------------------------------------------------------------


def benchmark_files(folder: Path, split: str, every: int) -> tuple[Path, Path]:
    """The KB and questions of ``benchmarks.bot_evaluate``; every ``every``-th question
    only when ``every`` > 1 (for trying the script out)."""
    kb, questions = oos_benchmark(folder, split)
    if every > 1:
        lines = questions.read_text(encoding="utf-8").splitlines()[::every]
        write_jsonl(questions, [json.loads(line) for line in lines])
    return kb, questions


def oos_training_texts() -> list[str]:
    return [text for text in read_lines(oos_folder() / "id-oos" / "train" / "seq.in")
            if text.strip()]


def figures_row(name: str, figures: EngineFigures) -> str:
    m = figures.metrics
    return (f"| {name} | {m['n']} | {pct(m['in_scope_accuracy'])} | {pct(m['oos_recall'])} | "
            f"{pct(m['wrong_answer_rate'])} | {pct(m['coverage'])} | {pct(m['handoff_rate'])} "
            f"| {figures.p50_ms:.1f} ms | {figures.p95_ms:.1f} ms |")


def markdown(load: str, rows: list[str], notes: list[str]) -> str:
    return ("## Rasa vs the built-in engine (issue 5)\n\n"
            f"{header('benchmarks.rasa_vs_builtin', load)}\n"
            "| Engine | n | In-scope accuracy | OOS recall | Wrong-answer rate | Coverage "
            "| Handoff rate | Latency p50 | Latency p95 |\n|---|---|---|---|---|---|---|---|---|\n"
            + "\n".join(rows) + "\n\n" + "\n".join(f"- {note}" for note in notes) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["valid", "test"], default="test")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--oos-intent", action="store_true",
                        help="also train Rasa with an out_of_scope intent (id-oos/train)")
    parser.add_argument("--every", type=int, default=1,
                        help="replay every N-th question only (to try the script out)")
    parser.add_argument("--rasa-venv", type=Path, default=RASA_VENV)
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the Rasa projects and the details files here")
    parser.add_argument("--write", action="store_true", help="record in RESULTS.md")
    args = parser.parse_args(argv)
    venv, load = rasa_venv(args.rasa_venv), load_note()
    with tempfile.TemporaryDirectory(prefix="comptoir-rasa-bench-") as temp:
        rows, notes = run(args, venv, Path(temp))
        if args.keep:
            shutil.copytree(temp, args.keep, dirs_exist_ok=True)
    text = markdown(load, rows, notes)
    print(text)
    if args.write:
        write_section(SECTION, text)


def run(args: argparse.Namespace, venv: Path, folder: Path) -> tuple[list[str], list[str]]:
    """Both engines (Rasa once or twice); the table rows and the notes under them."""
    kb, questions_file = benchmark_files(folder, args.split, args.every)
    questions = read_questions(questions_file)
    faq = folder / "rasa-faq"
    started = time.monotonic()
    builtin, exported = builtin_and_export(kb, questions, faq)
    print(f"built-in engine: {json.dumps(builtin.metrics)} ({time.monotonic() - started:.0f} s)",
          flush=True)
    rows = [figures_row("Built-in (calibrated confidence)", builtin)]
    notes = [f"`export_faq`: {exported.replace(str(faq) + '/', '')}"]
    variants = [("Rasa, FAQ export + small talk", faq, [])]
    if args.oos_intent:
        shutil.copytree(faq, folder / "rasa-oos")
        variants.append(("Rasa, + `out_of_scope` intent (id-oos/train)", folder / "rasa-oos",
                         oos_training_texts()))
    for name, project, oos_texts in variants:
        figures, note = train_and_evaluate(venv, project, args.epochs, oos_texts,
                                           questions_file, args.split)
        rows.append(figures_row(name, figures))
        notes.append(f"{name}: {note}")
    notes += setup_notes(args, venv, len(labelled(oos_folder() / 'train')))
    return rows, notes


def train_and_evaluate(venv: Path, project: Path, epochs: int, oos_texts: Sequence[str],
                       questions: Path, split: str) -> tuple[EngineFigures, str]:
    write_project(project, epochs, oos_texts)
    rasa(venv, project, "data", "validate", "--config", "config.yml", "--domain", "domain",
         "--data", "data")
    started = time.monotonic()
    rasa(venv, project, "train", "--config", "config.yml", "--domain", "domain", "--data",
         "data", "--out", "models", "--fixed-model-name", "faq")
    training = time.monotonic() - started
    model = project / "models" / "faq.tar.gz"
    with rasa_server(venv, project, model) as (url, startup):
        figures = evaluate_rasa(url, questions, project / f"details_{split}.jsonl")
    print(f"{project.name}: {json.dumps(figures.metrics)}", flush=True)
    return figures, (f"`rasa data validate` passed; training {training / 60:.1f} min, model "
                     f"{model.stat().st_size / 1e6:.1f} MB, `rasa run` up in {startup:.0f} s")


def setup_notes(args: argparse.Namespace, venv: Path, examples: int) -> list[str]:
    every = f", every {args.every}th question only" if args.every > 1 else ""
    return [
        f"Data: BANKING77-OOS, knowledge base = the 50 in-scope topics of `train` ({examples} "
        f"texts as example questions); questions = `{args.split}` + `id-oos/{args.split}`"
        f" (expected: escalate / hand over){every}",
        f"Rasa {version_of(venv)} ({venv}), Python 3.10; Rasa 3.6's default pipeline and "
        f"policies with {args.epochs} epochs for DIETClassifier, ResponseSelector, "
        "TEDPolicy and UnexpecTEDIntentPolicy (default: 100); FallbackClassifier 0.3 → "
        "`nlu_fallback` → handoff",
        "Latency: the built-in engine's `engine.respond` in process; Rasa's REST webhook "
        "round trip from `comptoir bot evaluate --engine rasa`; both one question at a time "
        "with nothing else of the benchmark running",
    ]


if __name__ == "__main__":
    main()
