"""Privacy (issue 8): exporting then erasing a customer with 10,000 timeline events, 100
conversations and 2,000 messages among 1,000 others, on SQLite and PostgreSQL.

The fixture is the customer-timeline benchmark's (``benchmarks.customer_timeline.load``:
60,000 events in all) plus 20 messages on each of the target's conversations. Measured
once each, in-process, in this order (the erasure destroys the fixture):

- deciding whether the export fits in a web request (``exports.is_small``: counts the
  scope, every table);
- building the archive (``exports.build``, as the worker does) and its size;
- erasing the customer (``erasure.erase_customer``: one transaction, then on SQLite the
  full-text index merge);
- the other customers' events left untouched (checked, not timed).

    .venv/bin/python -m benchmarks.privacy [--backend sqlite|postgres|both] [--write]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import func, insert, select

from benchmarks.chat_cluster import fresh_database, scratch_folder
from benchmarks.common import command_line, cpu_model, write_section
from benchmarks.customer_timeline import NAMES, OTHER_EVENTS, OTHERS, TARGET_EVENTS, load
from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.migrate import migrated_app
from helpdesk.models import AuthorKind, Conversation, DataRequest, Message, TimelineEvent, User
from helpdesk.privacy import erasure, exports, folders

MODULE, SECTION = "benchmarks.privacy", "privacy"
MESSAGES = 20  # per conversation
HEADER = ("| Database | Inline or worker? (`is_small`) | Build the archive | Archive "
          "| Erase (one transaction) | Rows deleted | Others' events left |\n"
          "|---|---:|---:|---:|---:|---:|---:|")


@dataclass(frozen=True)
class Result:
    load_seconds: float
    decide_seconds: float
    small: bool
    export_seconds: float
    archive_bytes: int
    erase_seconds: float
    deleted: int
    others_left: int


def add_messages(app: Flask, customer_id: int) -> None:
    with app.app_context(), db.engine.begin() as connection:
        conversations = connection.scalars(select(Conversation.id).where(
            Conversation.customer_id == customer_id)).all()
        connection.execute(insert(Message), [{
            "conversation_id": c, "seq": n + 1, "channel": "email", "internal": False,
            "author_kind": AuthorKind.CUSTOMER if n % 2 == 0 else AuthorKind.AGENT,
            "body": f"Message {n} : ma commande n'est toujours pas arrivée, merci de vérifier."}
            for c in conversations for n in range(MESSAGES)])


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def run(backend: str) -> Result:
    with scratch_folder() as folder, fresh_database(backend, folder) as url, migrated_app(
            {"database_url": url, "instance_path": str(folder / "instance"),
             "secret_key": "benchmark", "log_level": "WARNING"}) as app:
        start = time.perf_counter()
        customer_id = load(app, random.Random(8))  # noqa: S311 (test data)
        add_messages(app, customer_id)
        load_seconds = time.perf_counter() - start
        with app.app_context():
            actor = Actor("agent", db.session.scalar(select(User.id)))
            decide, small = timed(lambda: exports.is_small(db.session, customer_id))
            with unit_of_work() as uow:
                request_id = exports.request_export(uow, actor, customer_id).id
            export, _built = timed(lambda: exports.build(unit_of_work, request_id, folders()))
            size = db.session.get(DataRequest, request_id).archive_size
            erase, erased_id = timed(lambda: erasure.erase_customer(
                unit_of_work, actor, customer_id, f"ERASE {customer_id}", folders()))
            deleted = sum(db.session.get(DataRequest, erased_id).counts["deleted"].values())
            others = db.session.scalar(select(func.count()).select_from(TimelineEvent).where(
                TimelineEvent.customer_id != customer_id))
    return Result(load_seconds, decide, small, export, size, erase, deleted, others)


def report(results: dict[str, Result], load_average: float) -> str:
    rows = "\n".join(
        f"| {name} | {r.decide_seconds * 1000:.0f} ms ({'small' if r.small else 'worker'}) | "
        f"{r.export_seconds:.2f} s | {r.archive_bytes / 1024:,.0f} KiB | "
        f"{r.erase_seconds:.2f} s | {r.deleted:,} | {r.others_left:,} |"
        for name, r in results.items())
    return f"""## Privacy: export and erasure of a large customer (issue 8)

- Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}
- Machine: {len(os.sched_getaffinity(0))}-core {cpu_model()}; load average at start
  {load_average:.2f}; PostgreSQL on the same machine, SQLite a file in /tmp (WAL)
- Command: `{command_line(MODULE)}`
- Fixture: one customer with {TARGET_EVENTS:,} timeline events, 100 conversations and
  {100 * MESSAGES:,} messages among {OTHERS:,} customers with {OTHER_EVENTS} events each
  (`benchmarks.customer_timeline`'s, plus the messages); each measure taken once, in this
  order (the erasure destroys the fixture)

{HEADER}
{rows}

Fixture load times: {", ".join(f"{n} {r.load_seconds:.0f} s" for n, r in results.items())}.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    load_average = os.getloadavg()[0]
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    markdown = report({NAMES[b]: run(b) for b in backends}, load_average)
    print(markdown)
    if args.write:
        write_section(SECTION, markdown)


if __name__ == "__main__":
    main()
