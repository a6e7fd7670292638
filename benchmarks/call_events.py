"""Call-event ingestion (issue 7): how many CTI events a second ``POST /api/v1/calls/events``
stores and applies, through the real HTTP API of a ``comptoir run`` process.

A fresh database (PostgreSQL by default) gets queues serving the phone and their agents; the
events are the simulator's (``helpdesk.call_simulator``): realistic calls (answered,
abandoned, voicemail, transferred) from a few hundred numbers, some events sent twice, some
calls with their last two events crossed. They are posted in the simulator's order as fast
as the server answers, by ``--concurrency`` HTTP clients (closed loop), so a call's events
may be in flight at once, as with a PBX's webhook workers. Afterwards every call is checked:
each distinct event stored once, the duplicates answered 200.

    .venv/bin/python -m benchmarks.call_events [--events 3000] [--concurrency 1,4,8]
        [--database postgres|sqlite] [--write]
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from benchmarks.chat_cluster import fresh_database, running_servers, scratch_folder
from benchmarks.chat_transport import code_version
from benchmarks.common import command_line, cpu_model, percentile, write_section
from helpdesk import create_app, migrate
from helpdesk.call_simulator import Cast, Sender, plan
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Call, CallEvent, Role
from helpdesk.services import queues, staff

MODULE, SECTION = "benchmarks.call_events", "call-events"
QUEUES, AGENTS_PER_QUEUE = 4, 10
WARM_UP = 200
CALLS_A_MINUTE = 600  # the plan's pace; the bodies are then posted as fast as possible


@dataclass(frozen=True)
class Phase:
    concurrency: int
    seconds: float
    latencies: list[float]
    statuses: Counter[int]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


# --- the desk -------------------------------------------------------------------------------


def seed(settings: dict[str, str]) -> tuple[Cast, str]:
    """Migrate; create the queues, their agents and the PBX's token."""
    app = create_app(settings)
    with app.app_context():
        migrate.upgrade(db.engine)
        cast = Cast([], [])
        for number in range(QUEUES):
            agents = [_user(f"agent{number}-{n}@bench.example", Role.AGENT)
                      for n in range(AGENTS_PER_QUEUE)]
            with unit_of_work() as uow:
                queue = queues.create_queue(uow, SYSTEM, name=f"Phone {number}",
                                            channels=["phone"], member_ids=list(agents))
            cast.queues.append(queue.name)
            cast.agents.extend(f"agent{number}-{n}@bench.example"
                               for n in range(AGENTS_PER_QUEUE))
        with unit_of_work() as uow:
            token = staff.issue_token(uow, SYSTEM, _user("pbx@bench.example", Role.ADMIN),
                                      name="pbx", scopes=["calls:ingest"])[1]
        db.engine.dispose()
    return cast, token


def _user(email: str, role: Role) -> int:
    with unit_of_work() as uow:
        return staff.create_user(uow, SYSTEM, email=email, name=email.split("@")[0],
                                 role=role, password="benchmark password").id  # noqa: S106


def event_bodies(cast: Cast, count: int, seed_value: int) -> list[dict[str, Any]]:
    """``count`` event bodies in the order the simulator sends them."""
    minutes = count / (CALLS_A_MINUTE * 3) + 1  # calls have 3 to 6 events
    rng = random.Random(seed_value)  # noqa: S311 -- made-up calls
    postings = plan(rng, cast, rate=CALLS_A_MINUTE, minutes=minutes, start=datetime.now(UTC))
    if len(postings) < count:
        raise RuntimeError(f"the plan has {len(postings)} events, fewer than {count}")
    return [p.body for p in postings[:count]]


# --- posting ------------------------------------------------------------------------------


def drive(url: str, token: str, bodies: list[dict[str, Any]], concurrency: int) -> Phase:
    """Post every body with ``concurrency`` clients, each taking the next one when free."""
    work: Iterator[dict[str, Any]] = iter(bodies)
    lock, latencies, statuses = threading.Lock(), [], Counter()

    def client() -> None:
        sender = Sender(url, token)
        while True:
            with lock:
                body = next(work, None)
            if body is None:
                return
            began = time.perf_counter()
            status, _answer = sender.post(body)
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                statuses[status] += 1

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Phase(concurrency, time.perf_counter() - started, latencies, statuses)


def stored_once(settings: dict[str, str], bodies: list[dict[str, Any]]) -> str:
    """Whether the database holds each distinct event once and one call per call id."""
    calls = {b["call_id"] for b in bodies}
    # The simulator transfers a call once at most, so (call, event) is the event's key.
    distinct = {(b["call_id"], b["event"]) for b in bodies}
    app = create_app(settings)
    with app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(CallEvent))
        call_rows = db.session.scalar(select(func.count()).select_from(Call))
        db.engine.dispose()
    verdict = "yes" if (stored, call_rows) == (len(distinct), len(calls)) else "**NO**"
    return (f"{verdict}: {stored:,} events stored for {len(distinct):,} distinct ones posted, "
            f"{call_rows:,} calls for {len(calls):,} call ids")


# --- the run and its report ---------------------------------------------------------------


def run(args: argparse.Namespace) -> str:
    load = os.getloadavg()
    with ExitStack() as stack:
        folder = stack.enter_context(scratch_folder())
        settings = {"database_url": stack.enter_context(fresh_database(args.database, folder)),
                    "instance_path": str(folder / "instance"), "secret_key": "call-benchmark",
                    "log_level": "WARNING"}
        cast, token = seed(settings)
        total = WARM_UP + args.events * len(args.concurrency)
        bodies = event_bodies(cast, total, args.seed)
        with running_servers(settings, 1, folder) as [server]:
            drive(server.url, token, bodies[:WARM_UP], 4)
            phases, offset = [], WARM_UP
            for concurrency in args.concurrency:
                phases.append(drive(server.url, token, bodies[offset:offset + args.events],
                                    concurrency))
                offset += args.events
        check = stored_once(settings, bodies)
    return report(args, load, phases, bodies, check)


def report(args: argparse.Namespace, load: tuple[float, float, float], phases: list[Phase],
           bodies: list[dict[str, Any]], check: str) -> str:
    duplicates = len(bodies) - len({(b["call_id"], b["event"]) for b in bodies})
    database = ("PostgreSQL (a fresh database, dropped after)" if args.database == "postgres"
                else "SQLite file in WAL mode")
    rows = [_row(p) for p in phases]
    return "\n".join([
        "## Call-event ingestion (issue 7)\n",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        f"- Machine: `nproc` = {len(os.sched_getaffinity(0))}, {cpu_model()}, shared with "
        f"other work; server, load generator and database all on it; load average at start "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min)",
        f"- Database: {database}; one `comptoir run` process",
        f"- Code: {code_version()}",
        f"- Command: `{command_line(MODULE)}`",
        f"- Load: {len(bodies):,} events of the call simulator ({WARM_UP} to warm up, then "
        f"{args.events:,} per row; {duplicates} of them sent twice), {QUEUES} queues of "
        f"{AGENTS_PER_QUEUE} agents; each client posts its next event as soon as the last "
        "is answered (closed loop); the latency is the whole HTTP request (store, derive "
        "the call, its conversation and history, commit)\n",
        "| HTTP clients | Events | Events/s | p50 | p95 | p99 | 201 / 200 / other |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        *rows,
        f"\nEach distinct event stored once, one call per call id: {check}.",
    ])


def _row(phase: Phase) -> str:
    def ms(q: float) -> str:
        return f"{percentile(phase.latencies, q) * 1000:.1f} ms"
    other = sum(n for status, n in phase.statuses.items() if status not in (200, 201))
    return (f"| {phase.concurrency} | {len(phase.latencies):,} | {phase.rate:.1f} | {ms(50)} "
            f"| {ms(95)} | {ms(99)} | {phase.statuses[201]:,} / {phase.statuses[200]:,} / "
            f"{other} |")


def concurrencies(text: str) -> list[int]:
    return [int(n) for n in text.split(",")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000, help="events per row")
    parser.add_argument("--concurrency", type=concurrencies, default=[1, 4, 8],
                        help="HTTP clients, one row each, e.g. 1,4,8")
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write", action="store_true",
                        help="update this benchmark's section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    section = run(args)
    print(section, flush=True)
    if args.write:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
