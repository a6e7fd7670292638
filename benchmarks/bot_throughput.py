"""The assistant's throughput and latency, through ``KnowledgeBaseEngine.respond``.

The knowledge base is BANKING77-OOS's (50 articles, 5,905 example questions), imported
into a throw-away app and calibrated as in production; the questions are its ``valid``
texts and ``id-oos/valid`` ones. Measured in one run:

1. in ``--rounds`` rounds, side by side, so that the machine's drift (a shared 2-core
   machine swings by 20% from minute to minute) moves both alike:
   a. the model's batch-encode ceiling: ``CEILING_TEXTS`` questions encoded 64 at a time,
      texts per second;
   b. answers per second at saturation, right after: ``--clients`` threads asking one
      question after another through the engine for ``--seconds``;
   the share of the ceiling is the median of the rounds' shares;
2. latency at half that load: questions arriving at half the saturation rate (evenly
   spaced), p50 and p95 from arrival to the actions returned;
3. where an answer's time goes, one question at a time: encode, search, confidence.

    .venv/bin/python -m benchmarks.bot_throughput --write
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from benchmarks.bot_evaluate import oos_benchmark, oos_folder, read_lines, write_bot_section
from benchmarks.common import header, load_note, ms, percentile, throwaway_app
from bot.engine import BotContext
from bot.kb_engine import KnowledgeBaseEngine
from bot.service import Assistant, init_app
from helpdesk.events import SYSTEM
from helpdesk.extensions import unit_of_work
from knowledge_base import importer
from knowledge_base.search import search_service
from knowledge_base.search.engine import SearchFilters

SECTION = "bot-throughput"
CONTEXT = BotContext(language="en")
CEILING_BATCH = 64
CEILING_TEXTS = 640


def questions() -> list[str]:
    folder = oos_folder()
    texts = (read_lines(folder / "valid" / "seq.in")
             + read_lines(folder / "id-oos" / "valid" / "seq.in"))
    return [text for text in texts if text.strip()]


def prepared_assistant(app: Flask, folder: Path) -> Assistant:
    """The BANKING77-OOS knowledge base imported, indexed and calibrated."""
    kb, _ = oos_benchmark(folder, "valid")
    with app.app_context():
        importer.import_entries(importer.read_path(kb), unit_of_work, SYSTEM)
        assistant = init_app(app)
        search_service(app).settle(3600)
    assert assistant.calibrator.model is not None
    return assistant


def encode_ceiling(assistant: Assistant, texts: Sequence[str]) -> float:
    """Texts per second when the model encodes them ``CEILING_BATCH`` at a time."""
    model = assistant.search.embedder
    model.encode(list(texts[:CEILING_BATCH]))  # warm up
    started = time.perf_counter()
    for start in range(0, len(texts), CEILING_BATCH):
        model.encode(list(texts[start:start + CEILING_BATCH]))
    return len(texts) / (time.perf_counter() - started)


@dataclass(frozen=True)
class Round:
    ceiling: float  # texts/s
    answers: float  # answers/s

    @property
    def share(self) -> float:
        return self.answers / self.ceiling


def side_by_side(assistant: Assistant, engine: KnowledgeBaseEngine, texts: Sequence[str],
                 clients: int, seconds: float, rounds: int) -> list[Round]:
    """Each round: the encode ceiling, then the engine at saturation right after."""
    return [Round(encode_ceiling(assistant, texts[:CEILING_TEXTS]),
                  saturation(engine, texts, clients, seconds)) for _ in range(rounds)]


def saturation(engine: KnowledgeBaseEngine, texts: Sequence[str], clients: int,
               seconds: float) -> float:
    """Answers per second with ``clients`` threads asking back to back."""
    done = [0] * clients
    stop = time.perf_counter() + seconds

    def client(number: int) -> None:
        position = number
        while time.perf_counter() < stop:
            engine.respond(CONTEXT, texts[position % len(texts)])
            done[number] += 1
            position += clients

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def latencies_at(engine: KnowledgeBaseEngine, texts: Sequence[str], rate: float,
                 seconds: float) -> list[float]:
    """Seconds from each question's arrival (every 1/``rate`` s) to its actions."""
    count = max(1, int(rate * seconds))
    results: list[Future[float]] = []
    with ThreadPoolExecutor(max_workers=64) as pool:
        started = time.perf_counter()
        for n in range(count):
            arrival = started + n / rate
            time.sleep(max(0.0, arrival - time.perf_counter()))
            results.append(pool.submit(_timed_from, arrival, engine, texts[n % len(texts)]))
    return [r.result() for r in results]


def _timed_from(arrival: float, engine: KnowledgeBaseEngine, text: str) -> float:
    engine.respond(CONTEXT, text)
    return time.perf_counter() - arrival


def stage_costs(assistant: Assistant, texts: Sequence[str]) -> dict[str, float]:
    """Mean seconds per question of each stage, one question at a time."""
    search, model = assistant.search, assistant.calibrator.model
    assert model is not None
    model_encoder = search.embedder
    filters = SearchFilters(language="en")
    vectors = [model_encoder.encode([t])[0] for t in texts]
    hits = [search.search_vector(t, v, filters, 5) for t, v in zip(texts, vectors, strict=True)]
    return {
        "encode one": _mean_seconds(lambda t: model_encoder.encode([t]), texts),
        "search": _mean_seconds(lambda n: search.search_vector(texts[n], vectors[n], filters, 5),
                                range(len(texts))),
        "confidence": _mean_seconds(lambda n: model.confidence(hits[n], texts[n], vectors[n]),
                                    range(len(texts))),
    }


def _mean_seconds(action: Callable[[object], object], items: Sequence[object]) -> float:
    started = time.perf_counter()
    for item in items:
        action(item)
    return (time.perf_counter() - started) / len(items)


def markdown(load: str, rounds: list[Round], clients: int, rate: float,
             latencies: list[float], stages: dict[str, float]) -> str:
    share = statistics.median(r.share for r in rounds)
    verdict = "met" if share >= 0.7 else "not met"
    p95 = percentile(latencies, 95)
    each = "; ".join(f"{r.ceiling:.0f} texts/s, {r.answers:.0f} answers/s ({100 * r.share:.0f}%)"
                     for r in rounds)
    return (
        "### Throughput and latency (`KnowledgeBaseEngine.respond`)\n\n"
        f"{header('benchmarks.bot_throughput', load)}"
        "- Knowledge base: BANKING77-OOS (50 articles, 5,905 example questions), calibrated; "
        "questions: its `valid` and `id-oos/valid` texts.\n\n"
        "| Measure | Value | Target |\n|---|---|---|\n"
        f"| Model batch-encode ceiling ({CEILING_BATCH} a call), median | "
        f"{statistics.median(r.ceiling for r in rounds):.0f} texts/s | |\n"
        f"| Answers/s at saturation ({clients} clients), median | "
        f"{statistics.median(r.answers for r in rounds):.0f}/s | |\n"
        f"| Share of the ceiling, median of {len(rounds)} rounds | {100 * share:.0f}% | "
        f"≥ 70%: {verdict} |\n"
        f"| Latency at half load ({rate:.0f} questions/s): p50 | "
        f"{ms(percentile(latencies, 50))} | |\n"
        f"| Latency at half load: p95 | {ms(p95)} | ≤ 150 ms: "
        f"{'met' if p95 <= 0.150 else 'not met'} |\n\n"
        f"Rounds (ceiling, then saturation right after): {each}.\n\n"
        "One question at a time, mean per question: "
        + ", ".join(f"{name} {ms(seconds)}" for name, seconds in stages.items()) + ".\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="at saturation in each round, and at half load")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="record in RESULTS.md")
    args = parser.parse_args(argv)
    load = load_note()
    texts = questions()
    with tempfile.TemporaryDirectory() as folder, throwaway_app() as app:
        assistant = prepared_assistant(app, Path(folder))
        with app.app_context():
            engine = assistant.engine
            engine.respond(CONTEXT, texts[0])  # loads the detector's phrases
            rounds = side_by_side(assistant, engine, texts, args.clients, args.seconds,
                                  args.rounds)
            rate = statistics.median(r.answers for r in rounds) / 2
            latencies = latencies_at(engine, texts, rate, args.seconds)
            stages = stage_costs(assistant, texts[:200])
    text = markdown(load, rounds, args.clients, rate, latencies, stages)
    print(text)
    if args.write:
        write_bot_section(SECTION, text)


if __name__ == "__main__":
    main()
