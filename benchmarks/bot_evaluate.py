"""The assistant's answer-or-escalate quality, through ``comptoir bot evaluate``.

Two benchmarks, each written as KB.jsonl + QUESTIONS.jsonl, then replayed by the CLI
(a subprocess of ``.venv/bin/comptoir``) with the shipped defaults:

- BANKING77-OOS: the 50 in-scope topics as articles (their ``train`` texts as example
  questions); questions: the split's in-scope texts, and ``id-oos/<split>`` (banking
  questions on the 27 topics the knowledge base lacks) expected to be escalated.
- BANKING77: the 77 topics as articles (``benchmarks/banking77_kb.py``); questions: the
  test set, all in scope.

``--split valid`` is for design: BANKING77-OOS ``valid`` + ``id-oos/valid``, and for
BANKING77 a split of the train set only (a fifth of each topic's texts held out as
questions). ``--split test`` reports the figures::

    .venv/bin/python -m benchmarks.bot_evaluate --split test --write
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.banking77_kb import (
    article_record,
    external_id,
    shared_data_dir,
    texts_by_category,
    train_csv,
)
from benchmarks.common import header, load_note, write_section

ROOT = Path(__file__).resolve().parents[1]
COMPTOIR = ROOT / ".venv" / "bin" / "comptoir"
SECTION = "bot-evaluate"
HEADING = ("## Virtual assistant (issue 4)\n\nThe assistant's decision (answer, clarify or "
           "escalate) and its throughput; how it works: [docs/assistant.md](../docs/assistant.md).")
DESIGN_SEED = 1
DESIGN_HELD_OUT = 5  # one text in five of each topic, for the BANKING77 design split
TARGETS = {"banking77_oos": "in-scope ≥ 85% with out-of-scope recall ≥ 60%",
           "banking77": "in-scope ≥ 92%"}


def oos_folder() -> Path:
    return shared_data_dir() / "banking77_oos"


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def labelled(folder: Path) -> list[tuple[str, str]]:
    """(text, topic) pairs of a BANKING77-OOS split folder (``seq.in`` and ``label``); the
    few blank texts are left out (an example question cannot be empty)."""
    pairs = zip(read_lines(folder / "seq.in"), read_lines(folder / "label"), strict=True)
    return [(text, topic) for text, topic in pairs if text.strip()]


def grouped(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    topics: dict[str, list[str]] = {}
    for text, topic in pairs:
        topics.setdefault(topic, []).append(text)
    return topics


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as lines:
        for record in records:
            lines.write(json.dumps(record, ensure_ascii=False) + "\n")


def oos_benchmark(folder: Path, split: str) -> tuple[Path, Path]:
    """BANKING77-OOS: KB from ``train``; questions from ``split`` and ``id-oos/split``."""
    kb, questions = folder / "banking77_oos_kb.jsonl", folder / "banking77_oos_questions.jsonl"
    topics = grouped(labelled(oos_folder() / "train"))
    write_jsonl(kb, [article_record(topic, texts) for topic, texts in topics.items()])
    in_scope = [{"text": text, "expected": external_id(topic)}
                for text, topic in labelled(oos_folder() / split)]
    out_of_scope = [{"text": text, "expected": None}
                    for text in read_lines(oos_folder() / "id-oos" / split / "seq.in")
                    if text.strip()]
    write_jsonl(questions, in_scope + out_of_scope)
    return kb, questions


def banking77_benchmark(folder: Path, split: str) -> tuple[Path, Path]:
    """BANKING77: KB from train.csv and the test set as questions; or, for design, a
    fifth of each topic's train texts held out as questions from a KB of the rest."""
    kb, questions = folder / "banking77_kb.jsonl", folder / "banking77_questions.jsonl"
    topics = texts_by_category(train_csv())
    if split == "test":
        asked = [(text, topic) for topic, texts in
                 texts_by_category(train_csv().with_name("test.csv")).items() for text in texts]
    else:
        topics, asked = design_split(topics)
    write_jsonl(kb, [article_record(topic, texts) for topic, texts in topics.items()])
    write_jsonl(questions, [{"text": text, "expected": external_id(topic)}
                            for text, topic in asked])
    return kb, questions


def design_split(topics: dict[str, list[str]],
                 ) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """Each topic's train texts minus a fifth, and that fifth as (text, topic) questions."""
    rng = np.random.default_rng(DESIGN_SEED)
    kept: dict[str, list[str]] = {}
    asked: list[tuple[str, str]] = []
    for topic in sorted(topics):
        texts = [topics[topic][i] for i in rng.permutation(len(topics[topic]))]
        cut = len(texts) // DESIGN_HELD_OUT
        asked += [(text, topic) for text in texts[:cut]]
        kept[topic] = texts[cut:]
    return kept, asked


def run_evaluate(kb: Path, questions: Path, details: Path) -> tuple[dict[str, Any], float]:
    """``comptoir bot evaluate`` on the files; its JSON and the seconds it took."""
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 -- our own CLI, arguments are paths we wrote
        [str(COMPTOIR), "bot", "evaluate", "--kb", str(kb), "--questions", str(questions),
         "--details", str(details)], capture_output=True, text=True, check=False, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(f"comptoir bot evaluate failed:\n{result.stderr}")
    sys.stderr.write(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1]), time.monotonic() - started


TRADEOFF_LINES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)


def tradeoff(details: Path) -> list[tuple[float, dict[str, float]]]:
    """The metrics had the confidence line been elsewhere, from a ``--details`` file (the
    calibrated line first). Not used to choose anything: it shows the trade-off."""
    lines = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    calibrated = lines[0]["threshold"] if lines else 0.0
    return [(line, metrics_at(lines, line)) for line in (calibrated, *TRADEOFF_LINES)]


def metrics_at(details: list[dict[str, Any]], line: float) -> dict[str, float]:
    """In-scope accuracy, OOS recall, wrong-answer rate, coverage at confidence ``line``
    (a hand-over for a person's request stays one)."""
    def answered(d: dict[str, Any]) -> bool:
        return d["best_article"] is not None and d["reason"] not in (
            "asked_for_human",) and (d["confidence"] or 0.0) >= line
    in_scope = [d for d in details if d["expected"] is not None]
    out = [d for d in details if d["expected"] is None]
    given = [d for d in details if answered(d)]
    return {"in": sum(answered(d) and d["best_article"] == d["expected"] for d in in_scope)
            / max(len(in_scope), 1),
            "oos": sum(not answered(d) for d in out) / max(len(out), 1),
            "wrong": sum(d["best_article"] != d["expected"] for d in given) / max(len(given), 1),
            "coverage": len(given) / max(len(details), 1)}


def tradeoff_markdown(name: str, rows: list[tuple[float, dict[str, float]]]) -> str:
    table = "\n".join(
        f"| {line:.3f}{' (calibrated)' if n == 0 else ''} | {pct(m['in'])} | {pct(m['oos'])} "
        f"| {pct(m['wrong'])} | {pct(m['coverage'])} |" for n, (line, m) in enumerate(rows))
    return (f"\nTrade-off on {name} had the confidence line been elsewhere (from the details "
            "file, same run):\n\n| Line | In-scope accuracy | OOS recall | Wrong-answer rate "
            "| Coverage |\n|---|---|---|---|---|\n" + table + "\n")


def markdown(split: str, load: str, figures: dict[str, tuple[dict[str, Any], float]],
             curves: dict[str, list[tuple[float, dict[str, float]]]]) -> str:
    rows = "\n".join(
        f"| {name} | {m['n']} | {pct(m['in_scope_accuracy'])} | {pct(m['oos_recall'])} | "
        f"{pct(m['wrong_answer_rate'])} | {pct(m['coverage'])} | {TARGETS[name]} | "
        f"{seconds:.0f} s |" for name, (m, seconds) in figures.items())
    return (f"### Answer or escalate: `comptoir bot evaluate` ({split} split)\n\n"
            f"{header('benchmarks.bot_evaluate', load)}\n"
            "| Benchmark | n | In-scope accuracy | OOS recall | Wrong-answer rate | Coverage "
            "| Target | Run time |\n|---|---|---|---|---|---|---|---|\n" + rows + "\n"
            + "".join(tradeoff_markdown(name, curve) for name, curve in curves.items()))


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["valid", "test"], default="valid")
    parser.add_argument("--only", choices=["banking77_oos", "banking77"], default=None)
    parser.add_argument("--details", type=Path, default=None,
                        help="keep the --details files in this folder")
    parser.add_argument("--write", action="store_true", help="record in RESULTS.md")
    args = parser.parse_args(argv)
    load = load_note()
    builders = {"banking77_oos": oos_benchmark, "banking77": banking77_benchmark}
    figures, curves = {}, {}
    with tempfile.TemporaryDirectory(prefix="comptoir-bot-bench-") as temp:
        folder = Path(temp)
        for name, build in builders.items():
            if args.only in (None, name):
                kb, questions = build(folder, args.split)
                details = (args.details or folder) / f"{name}_{args.split}_details.jsonl"
                figures[name] = run_evaluate(kb, questions, details)
                curves[name] = tradeoff(details)
                print(name, args.split, json.dumps(figures[name][0]), flush=True)
    text = markdown(args.split, load, figures, curves)
    print(text)
    if args.write:
        write_bot_section(f"{SECTION}-{args.split}", text)


def write_bot_section(name: str, text: str) -> None:
    """Write a block of the assistant's section of RESULTS.md, under its heading."""
    write_section("bot-heading", HEADING)
    write_section(name, text)


if __name__ == "__main__":
    main()
