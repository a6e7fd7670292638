"""Customer timeline (issue 8): a customer with 10,000 timeline events among 1,000 others,
on SQLite and PostgreSQL.

A fresh database gets, by Core bulk inserts: one agent, 1,001 customers with an email each,
the target customer's 10,000 events (40% chat, 40% email, 15% phone, 5% without a
channel, over three years, on 100 conversations) and 50 events for each of the 1,000 other
customers over the same years (60,000 events in all); then ``ANALYZE``.

Each line runs ``--repeat`` times after a warm-up, one at a time, in-process:

- the service the API and the page call (``timeline.customer_timeline``: the page of 25),
  on the first page and on a deep page (the one after 9,000 events, reached by its
  cursor), with and without a channel filter, with a type filter (a CSAT answer: 5% of
  the customer's events) and with both (chat status changes);
- the ceiling: the same rows by a bare SQL ``SELECT`` on the same connection (no ORM, no
  customer lookup), the fastest the database gives them;
- the whole customer page (``GET /customers/<id>``: profile, 50 conversations, the
  timeline's first 25 events, merges and suggestions; HTML), as a logged-in agent.

    .venv/bin/python -m benchmarks.customer_timeline [--backend sqlite|postgres|both]
        [--repeat 200] [--write]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

from flask import Flask
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection
from werkzeug.security import generate_password_hash

from benchmarks.chat_cluster import fresh_database, scratch_folder
from benchmarks.common import command_line, cpu_model, percentile, timed_runs, write_section
from benchmarks.conversation_list import PASSWORD, log_in
from helpdesk.extensions import db
from helpdesk.migrate import migrated_app
from helpdesk.models import (
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    Identity,
    IdentityKind,
    Role,
    TimelineEvent,
    User,
)
from helpdesk.orm import query_plan
from helpdesk.services.timeline import customer_timeline, timeline_query

MODULE, SECTION = "benchmarks.customer_timeline", "customer-timeline"
NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
TARGET_EVENTS, OTHERS, OTHER_EVENTS = 10_000, 1_000, 50
CONVERSATIONS = 100
PAGE = 25
DEEP = 9_000  # events before the deep page
BATCH = 5_000
WARM_UP = 5
SPAN = timedelta(days=3 * 365)
CHANNEL_MIX = [("chat", 40), ("email", 40), ("phone", 15), (None, 5)]
TYPES = {"chat": ["message.posted"] * 6 + ["conversation.status_changed", "conversation.rated"],
         "email": ["message.posted"] * 5 + ["conversation.opened", "email.auto_reply"],
         "phone": ["call.event"] * 4 + ["call.notes_saved"],
         None: ["customer.updated", "identity.added", "article.feedback"]}
PAYLOADS = {  # as the events record them (the page describes each from its payload)
    "message.posted": {"message_id": 1, "seq": 1, "author_kind": "customer",
                       "internal": False, "excerpt": "Bonjour, ma commande n'est pas arrivée"},
    "conversation.status_changed": {"from": "open", "to": "solved"},
    "conversation.rated": {"rating": 4, "comment": "Merci"},
    "conversation.opened": {"subject": "Commande A1001"},
    "email.auto_reply": {"inbound_email_id": 1, "subject": "Absence", "reason": "auto"},
    "call.event": {"call_id": 1, "event": "answered", "number": "+33199001234",
                   "agent_id": None, "queue_id": None, "recording_url": "",
                   "status": "in_progress"},
    "call.notes_saved": {"call_id": 1, "excerpt": "Rappeler demain"},
    "customer.updated": {"changes": {"language": "fr"}},
    "identity.added": {"kind": "email", "value": "client@example.com"},
    "article.feedback": {"article_id": 1, "version": 1, "helpful": True, "title": "Retours"},
}


# --- the fixture ----------------------------------------------------------------------------


def load(app: Flask, rng: random.Random) -> int:
    """The rows, bulk-inserted with Core, then ANALYZE; returns the target customer's id."""
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(insert(User), [{
            "email": "agent@bench.example", "name": "Agent", "role": Role.AGENT,
            "password_hash": generate_password_hash(PASSWORD)}])
        target, *others = _customers(connection)
        conversations = _conversations(connection, target)
        now = datetime.now(UTC)
        _insert(connection, (_event(target, now, rng, conversations)
                             for _ in range(TARGET_EVENTS)))
        _insert(connection, (_event(other, now, rng, []) for other in others
                             for _ in range(OTHER_EVENTS)))
        connection.execute(text("ANALYZE"))
    return target


def _customers(connection: Connection) -> list[int]:
    ids = list(connection.scalars(insert(Customer).returning(Customer.id),
                                  [{"name": f"Client {n}"} for n in range(OTHERS + 1)]))
    connection.execute(insert(Identity), [{"customer_id": i, "kind": IdentityKind.EMAIL,
                                           "value": f"client{i}@example.com"} for i in ids])
    return ids


def _conversations(connection: Connection, customer_id: int) -> list[tuple[int, str]]:
    channels = [Channel.CHAT, Channel.EMAIL, Channel.PHONE]
    rows = [{"customer_id": customer_id, "channel": channels[n % 3], "subject": f"Order {n}",
             "status": ConversationStatus.CLOSED} for n in range(CONVERSATIONS)]
    ids = connection.scalars(insert(Conversation).returning(Conversation.id), rows)
    return [(i, row["channel"].value) for i, row in zip(ids, rows, strict=True)]


def _event(customer_id: int, now: datetime, rng: random.Random,
           conversations: list[tuple[int, str]]) -> dict:
    channel = rng.choices([c for c, _ in CHANNEL_MIX], [w for _, w in CHANNEL_MIX])[0]
    on = [i for i, c in conversations if c == channel]
    type_ = rng.choice(TYPES[channel])
    return {"customer_id": customer_id, "channel": channel, "type": type_,
            "conversation_id": rng.choice(on) if on else None, "actor_kind": "customer",
            "actor_id": customer_id, "payload": PAYLOADS[type_],
            "occurred_at": now - SPAN * rng.random()}


def _insert(connection: Connection, rows: Iterator[dict]) -> None:
    while batch := list(islice(rows, BATCH)):
        connection.execute(insert(TimelineEvent), batch)


# --- the measures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    channel: str | None
    deep: bool
    types: tuple[str, ...] = ()


RATED, STATUS = "conversation.rated", "conversation.status_changed"
CASES = [Case("First page", None, False), Case("Deep page (after 9,000 events)", None, True),
         Case("First page, channel chat", "chat", False),
         Case("Deep page, channel chat", "chat", True),
         Case(f"First page, type {RATED}", None, False, (RATED,)),
         Case(f"Last page, type {RATED}", None, True, (RATED,)),
         Case(f"First page, channel chat and type {STATUS}", "chat", False, (STATUS,)),
         Case(f"Last page, channel chat and type {STATUS}", "chat", True, (STATUS,))]


@dataclass(frozen=True)
class Measure:
    case: str
    service: list[float]
    bare: list[float]
    plan: str

    def row(self) -> str:
        cells = [percentile(self.service, 50), percentile(self.service, 95),
                 percentile(self.bare, 50), percentile(self.bare, 95)]
        return (f"| {self.case} | " + " | ".join(f"{s * 1000:.2f} ms" for s in cells)
                + f" | `{self.plan}` |")


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    return timed_runs(action, repeat, warm_up=WARM_UP)


def deep_cursor(customer_id: int, case: Case) -> str | None:
    """The cursor after ``DEEP`` events (for a filter matching fewer: its last page's)."""
    types = list(case.types) or None
    total = db.session.scalar(select(func.count()).select_from(
        timeline_query(customer_id, channel=case.channel, types=types).subquery()))
    skip = min(DEEP, total - PAGE)
    return customer_timeline(db.session, customer_id, limit=skip, channel=case.channel,
                             types=types).next_cursor


def measure(app: Flask, customer_id: int, case: Case, repeat: int) -> Measure:
    with app.app_context():
        cursor = deep_cursor(customer_id, case) if case.deep else None
        types = list(case.types) or None
        db.session.rollback()
        statement = timeline_query(customer_id, cursor=cursor, channel=case.channel,
                                   types=types).limit(PAGE + 1)
        sql = str(statement.compile(dialect=db.engine.dialect,
                                    compile_kwargs={"literal_binds": True}))

        def service() -> None:
            customer_timeline(db.session, customer_id, limit=PAGE, cursor=cursor,
                              channel=case.channel, types=types)
            db.session.rollback()  # each request its own transaction, as in the app

        def bare() -> None:
            db.session.connection().exec_driver_sql(sql).fetchall()
            db.session.rollback()
        plan = _index_of(query_plan(db.session, statement))
        db.session.rollback()
        return Measure(case.name, timed(service, repeat), timed(bare, repeat), plan)


def _index_of(plan: str) -> str:
    """The plan's first line naming an index (else its first line), shortened."""
    lines = [line.strip() for line in plan.splitlines()]
    found = next((line for line in lines if "ix_" in line), lines[0])
    return found.split("  (cost")[0]


def measure_page(app: Flask, customer_id: int, repeat: int) -> list[float]:
    client = app.test_client()
    log_in(client, "agent@bench.example")

    def get() -> None:
        response = client.get(f"/customers/{customer_id}")
        assert response.status_code == 200, response.status_code
    return timed(get, repeat)


# --- the report -----------------------------------------------------------------------------


def run(backend: str, repeat: int) -> tuple[list[Measure], list[float], float]:
    with scratch_folder() as folder, fresh_database(backend, folder) as url, migrated_app(
            {"database_url": url, "instance_path": str(folder / "instance"),
             "secret_key": "benchmark", "log_level": "WARNING"}) as app:
        start = time.perf_counter()
        customer_id = load(app, random.Random(8))  # noqa: S311 (test data)
        load_seconds = time.perf_counter() - start
        measures = [measure(app, customer_id, case, repeat) for case in CASES]
        page = measure_page(app, customer_id, max(20, repeat // 4))
    return measures, page, load_seconds


def report(results: dict[str, tuple[list[Measure], list[float], float]], repeat: int,
           load_average: float) -> str:
    blocks = []
    for backend, (measures, page, load_seconds) in results.items():
        rows = "\n".join(m.row() for m in measures)
        blocks.append(f"""### {backend} (fixture loaded in {load_seconds:.0f} s)

| Page of 25 | Service p50 | Service p95 | Bare SELECT p50 | Bare SELECT p95 | Plan |
|---|---:|---:|---:|---:|---|
{rows}

Whole customer page (`GET /customers/<id>`, HTML, {len(page)} runs): p50
{percentile(page, 50) * 1000:.1f} ms, p95 {percentile(page, 95) * 1000:.1f} ms.
""")
    return f"""## Customer timeline at 10,000 events (issue 8)

- Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}
- Machine: {len(os.sched_getaffinity(0))}-core {cpu_model()}; load average at start
  {load_average:.2f}; PostgreSQL on the same machine, SQLite a file in /tmp (WAL)
- Command: `{command_line(MODULE)}`
- Fixture: one customer with {TARGET_EVENTS:,} events (40% chat, 40% email, 15% phone, 5%
  without a channel, over three years) among {OTHERS:,} customers with {OTHER_EVENTS}
  events each ({TARGET_EVENTS + OTHERS * OTHER_EVENTS:,} events), bulk-loaded, `ANALYZE`d
- Each line: {repeat} runs after {WARM_UP} warm-up runs, one at a time, in-process. The
  service is `customer_timeline` (what the API and the page call: the customer looked
  up, then the page as ORM objects); the bare SELECT sends the same statement's SQL on the
  same connection and fetches the same rows as tuples: the ceiling. The plan is the
  database's own choice (EXPLAIN), no setting forced.

{chr(10).join(blocks)}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    load_average = os.getloadavg()[0]
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = {name: run(name, args.repeat) for name in backends}
    markdown = report({NAMES[k]: v for k, v in results.items()}, args.repeat, load_average)
    print(markdown)
    if args.write:
        write_section(SECTION, markdown)


if __name__ == "__main__":
    main()
