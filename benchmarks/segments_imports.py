"""Customer segments and CSV imports (issue 8), on SQLite and PostgreSQL.

A fresh database gets, by Core bulk inserts: 100,000 customers (an email each; a language
for 80%, a loyalty tier attribute for half) and 300,000 conversations over the last year
(a third rated); then ``ANALYZE``. Then:

- each example segment of docs/segments.md: the member count (``count_matching``) and the
  inbox's first page filtered by it (``list_conversations``), ``--repeat`` times each after
  a warm-up;
- an import of 10,000 rows (half update existing customers, half create new ones) through
  the worker's function (``run_imports``), then the same file again (nothing changes);
- the export of every customer (``export_lines``, streamed).

    .venv/bin/python -m benchmarks.segments_imports [--backend sqlite|postgres|both]
        [--repeat 20] [--write]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import islice

from flask import Flask
from sqlalchemy import insert, text

from benchmarks.chat_cluster import fresh_database, scratch_folder
from benchmarks.common import command_line, cpu_model, percentile, timed_runs, write_section
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.migrate import migrated_app
from helpdesk.models import (
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    Identity,
    IdentityKind,
)
from helpdesk.orm import utcnow
from helpdesk.services import custom_fields, customer_imports, segments
from helpdesk.services.queries import ConversationFilter, list_conversations

MODULE, SECTION = "benchmarks.segments_imports", "segments-imports"
NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
CUSTOMERS, CONVERSATIONS, IMPORT_ROWS = 100_000, 300_000, 10_000
BATCH = 5_000
WARM_UP = 2
SEGMENTS = {
    "contacted us 3+ times in 30 days": {"all": [
        {"field": "contacts", "op": "gte", "value": 3, "days": 30}]},
    "CSAT ≤ 2 last time": {"all": [{"field": "last_csat", "op": "lte", "value": 2}]},
    "language = fr": {"all": [{"field": "language", "op": "is", "value": "fr"}]},
    "loyalty_tier = gold": {"all": [
        {"field": "attribute", "key": "loyalty_tier", "op": "is", "value": "gold"}]},
    "has an open conversation": {"all": [
        {"field": "open_conversation", "op": "is", "value": True}]},
    "used email in 90 days": {"all": [
        {"field": "channel_used", "op": "is", "value": "email", "days": 90}]},
}


def load(app: Flask, rng: random.Random) -> None:
    with app.app_context():
        with unit_of_work() as uow:
            custom_fields.create_field(uow, SYSTEM, subject="customer", key="loyalty_tier",
                                       label="Tier", type="select",
                                       options=["gold", "silver", "bronze"])
        with db.engine.begin() as connection:
            ids = list(connection.scalars(insert(Customer).returning(Customer.id), [
                _customer(n, rng) for n in range(CUSTOMERS)]))
            connection.execute(insert(Identity), [
                {"customer_id": i, "kind": IdentityKind.EMAIL,
                 "value": f"client{n}@example.com"} for n, i in enumerate(ids)])
            rows = (_conversation(rng.choice(ids), rng) for _ in range(CONVERSATIONS))
            while batch := list(islice(rows, BATCH)):
                connection.execute(insert(Conversation), batch)
            connection.execute(text("ANALYZE"))


def _customer(n: int, rng: random.Random) -> dict:
    language = rng.choices(["fr", "en", "de", None], [40, 30, 10, 20])[0]
    tier = rng.choice(["gold", "silver", "bronze"]) if n % 2 else None
    return {"name": f"Client {n}", "language": language,
            "attributes": {"loyalty_tier": tier} if tier else {}}


def _conversation(customer_id: int, rng: random.Random) -> dict:
    rated = rng.random() < 1 / 3
    return {"customer_id": customer_id, "channel": rng.choice(list(Channel)),
            "subject": "Order", "status": rng.choice(list(ConversationStatus)),
            "created_at": datetime.now(UTC) - timedelta(days=365 * rng.random()),
            "csat_rating": rng.randint(1, 5) if rated else None}


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    return timed_runs(action, repeat, warm_up=WARM_UP, after=db.session.rollback)


def measure_segments(app: Flask, repeat: int) -> list[str]:
    with app.app_context():
        every = timed(lambda: list_conversations(db.session, ConversationFilter(),
                                                 per_page=25), repeat)
        rows = [f"| (no segment: the baseline) | {CUSTOMERS:,} | | | {_ms(every, 50)} | "
                f"{_ms(every, 95)} |"]
        for name, conditions in SEGMENTS.items():
            with unit_of_work() as uow:
                segment = segments.create_segment(uow, SYSTEM, name=name, shared=True,
                                                   may_share=True, conditions=conditions)
            parsed = segments.parse(conditions)
            count = segments.count_matching(db.session, parsed)
            counts = timed(lambda parsed=parsed: segments.count_matching(db.session, parsed),
                           repeat)
            pages = timed(lambda segment=segment: list_conversations(
                db.session, ConversationFilter(segment_id=segment.id), per_page=25), repeat)
            rows.append(f"| {name} | {count:,} | {_ms(counts, 50)} | {_ms(counts, 95)} | "
                        f"{_ms(pages, 50)} | {_ms(pages, 95)} |")
    return rows


def measure_import(app: Flask) -> tuple[float, float, float]:
    lines = ["name,email,language,attr:loyalty_tier"]
    lines += [f"Client {n},client{n}@example.com,fr,gold" for n in range(IMPORT_ROWS // 2)]
    lines += [f"New {n},new{n}@example.com,en,silver" for n in range(IMPORT_ROWS // 2)]
    content = ("\n".join(lines) + "\n").encode()
    return _import(app, content), _import(app, content), _export(app)


def _import(app: Flask, content: bytes) -> float:
    with app.app_context():
        with unit_of_work() as uow:
            customer_imports.start_import(uow, SYSTEM, filename="bench.csv", content=content)
        start = time.perf_counter()
        while customer_imports.run_imports(unit_of_work, utcnow(), budget_seconds=3600):
            pass
        return IMPORT_ROWS / (time.perf_counter() - start)


def _export(app: Flask) -> float:
    with app.app_context():
        start = time.perf_counter()
        count = sum(1 for _ in customer_imports.export_lines(db.session_factory)) - 1
        return count / (time.perf_counter() - start)


def _ms(values: list[float], q: int) -> str:
    return f"{percentile(values, q) * 1000:.1f} ms"


def run(backend: str, repeat: int) -> tuple[list[str], tuple[float, float, float], float]:
    with scratch_folder() as folder, fresh_database(backend, folder) as url, migrated_app(
            {"database_url": url, "instance_path": str(folder / "instance"),
             "secret_key": "benchmark", "log_level": "WARNING"}) as app:
        start = time.perf_counter()
        load(app, random.Random(8))  # noqa: S311 (test data)
        loaded = time.perf_counter() - start
        return measure_segments(app, repeat), measure_import(app), loaded


def report(results: dict[str, tuple[list[str], tuple[float, float, float], float]],
           repeat: int, load_averages: tuple[float, float]) -> str:
    blocks = []
    for backend, (rows, (first, again, export), loaded) in results.items():
        blocks.append(f"""### {backend} (fixture loaded in {loaded:.0f} s)

| Segment | Members | Count p50 | Count p95 | Inbox page p50 | Inbox page p95 |
|---|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

Import of {IMPORT_ROWS:,} rows (half updates, half new customers) by the worker's function:
{first:,.0f} rows/s; the same file again (nothing to change): {again:,.0f} rows/s. Export of
every customer (streamed CSV): {export:,.0f} customers/s.
""")
    return f"""## Customer segments and CSV imports (issue 8)

- Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}
- Machine: {len(os.sched_getaffinity(0))}-core {cpu_model()}, shared with other work: load
  average {load_averages[0]:.2f} at the start, {load_averages[1]:.2f} at the end; PostgreSQL
  on the same machine, SQLite a file in /tmp (WAL)
- Command: `{command_line(MODULE)}`
- Fixture: {CUSTOMERS:,} customers, {CONVERSATIONS:,} conversations over a year (a third
  rated), bulk-loaded, `ANALYZE`d
- Each segment line: {repeat} runs after {WARM_UP} warm-up runs, in-process: the member
  count (`segments.count_matching`) and the first inbox page of 25 filtered by the segment
  (`list_conversations` with `segment_id`, any status)

{chr(10).join(blocks)}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    load_average = os.getloadavg()[0]
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = {NAMES[name]: run(name, args.repeat) for name in backends}
    markdown = report(results, args.repeat, (load_average, os.getloadavg()[0]))
    print(markdown)
    if args.write:
        write_section(SECTION, markdown)


if __name__ == "__main__":
    main()
