"""Routing throughput: decisions per second with 500 agents online and 10,000 waiting
conversations on PostgreSQL, against the bare-SQL ceiling of the same work.

A fresh PostgreSQL database is migrated, then filled directly (no events): 500 online
agents in one queue, each with two or three skills and a capacity of 8 chats, 3 calls
and 20 emails; 10,000 waiting conversations of 1,000 customers (60 % email, 30 % chat,
10 % phone; priorities 10 % urgent, 20 % high, 60 % normal, 10 % low; none, one or two
required skills), their waits spread over the last hour. There is room for every one of
them, so each routing decision is an assignment.

Each run starts from that same state (assignments undone, history emptied, ``VACUUM
ANALYZE``) and routes the whole queue from fresh OS processes (``spawn``), started together
at a barrier; the time runs from the barrier to the last process's end:

- Comptoir: ``routing.route_queue`` with the queue's strategy, as the worker's sweep or a
  presence change runs it: per conversation, lock it (``FOR UPDATE SKIP LOCKED``), rank the
  online agents, lock the chosen agent's row and count their open items of the channel
  again, assign through the conversation service (owner, status, events), stamp the
  round-robin turn, write the explanation and the history rows, commit, then the
  after-commit handlers of the whole app (live pushes, SLA clocks, automation rules…), as
  in production. Runs: least_loaded in one process and in two, skills (the costliest
  ranking) in one, and least_loaded once more with the handlers off, to tell routing's own
  cost from what other parts do after each of its commits;
- ceiling: the same conversations in the same order, with psycopg and no ORM: per
  conversation ``SELECT … FOR UPDATE SKIP LOCKED`` then one ``UPDATE`` (assignee, owner,
  status) and the commit, the agent picked in turn in Python. No capacity check, no
  ranking, no history: what the database must do at the least to hand out each item once.

Then the after-run checks: no conversation assigned twice (its ``conversation.assigned``
events, or its assignee being set by two processes), nobody past capacity on any channel,
nothing left waiting. Last, with the queue fully routed (10,000 open items across the 500
agents), 200 new emails arrive one at a time: the time of ``routing.route`` for each, as
the after-commit handler of a new conversation runs it.

    .venv/bin/python -m benchmarks.routing [--agents 500] [--items 10000] [--write]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import tempfile
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy import func, insert, select, text, update

from benchmarks.common import header, load_note, ms, percentile, write_section
from benchmarks.email_vs_django_helpdesk import POSTGRES, fresh_database
from helpdesk import create_app
from helpdesk.events import EventBus
from helpdesk.extensions import db, unit_of_work
from helpdesk.migrate import migrated_app
from helpdesk.models import (
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    Owner,
    Presence,
    Priority,
    Queue,
    QueueMembership,
    Role,
    RoutingStrategy,
    User,
)
from helpdesk.orm import utcnow
from helpdesk.services import routing

MODULE = "benchmarks.routing"
SECTION = "routing"
SEED = 7
SECRET_KEY = "routing-benchmark"  # noqa: S105 -- the throw-away app's
CUSTOMERS = 1000
CAPACITY = {"chat": 8, "phone": 3, "email": 20}
CHANNEL_MIX = {Channel.EMAIL: 0.6, Channel.CHAT: 0.3, Channel.PHONE: 0.1}
PRIORITY_MIX = {Priority.URGENT: 0.1, Priority.HIGH: 0.2, Priority.NORMAL: 0.6,
                Priority.LOW: 0.1}
SKILLS = ["fr", "en", "de", "billing", "returns", "tech"]
ARRIVALS = 200
RUN_TIMEOUT = 3600.0
WAITING_IDS = """
    SELECT id FROM conversations
    WHERE queue_id = %s AND owner = 'queue' AND assignee_id IS NULL
      AND status IN ('new', 'open')
    ORDER BY CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2
             WHEN 'low' THEN 3 ELSE 4 END, coalesce(waiting_since, created_at), id"""
LOCK_IF_WAITING = """
    SELECT id FROM conversations
    WHERE id = %s AND owner = 'queue' AND assignee_id IS NULL AND status IN ('new', 'open')
    FOR UPDATE SKIP LOCKED"""
ASSIGN = "UPDATE conversations SET assignee_id = %s, owner = 'agent', status = 'open' " \
         "WHERE id = %s"


@dataclass(frozen=True)
class Plan:
    """One run to make: Comptoir with ``strategy`` (None: the SQL ceiling)."""

    name: str
    strategy: RoutingStrategy | None
    processes: int
    handlers: bool = True


LEAST, CEILING = RoutingStrategy.LEAST_LOADED, "Ceiling: SKIP LOCKED + UPDATE in SQL"
PLANS = [Plan("Comptoir, least_loaded", LEAST, 1), Plan("Comptoir, least_loaded", LEAST, 2),
         Plan("Comptoir, skills", RoutingStrategy.SKILLS, 1),
         Plan("Comptoir, least_loaded, after-commit handlers off", LEAST, 1, handlers=False),
         Plan(CEILING, None, 1, handlers=False), Plan(CEILING, None, 2, handlers=False)]


@dataclass(frozen=True)
class Run:
    """One timed routing of the whole queue by ``processes`` processes."""

    name: str
    processes: int
    seconds: float
    per_process: list[int]  # decisions each process made
    twice: int  # conversations assigned more than once
    over_capacity: int  # agent-channel pairs past capacity (Comptoir's runs)
    left_waiting: int

    @property
    def decisions(self) -> int:
        return sum(self.per_process)

    @property
    def rate(self) -> float:
        return self.decisions / self.seconds if self.seconds else 0.0


# --- the data -------------------------------------------------------------------------------


def seed(app: Flask, agents: int, items: int) -> int:
    """The queue, its online agents and its waiting conversations; the queue's id."""
    rng = random.Random(SEED)  # noqa: S311 -- sample data, not secrets
    now = utcnow()
    with app.app_context():
        session = db.session
        queue = Queue(name="Bench", channels=["chat", "email", "phone"],
                      routing_strategy=RoutingStrategy.LEAST_LOADED)
        session.add(queue)
        session.flush()
        user_ids = session.scalars(insert(User).returning(User.id), [
            {"email": f"agent{n}@bench.example", "name": f"Agent {n}", "role": Role.AGENT,
             "password_hash": "!", "presence": Presence.ONLINE, "capacity": CAPACITY,
             "skills": rng.sample(SKILLS, rng.choice((2, 3))), "last_seen_at": now}
            for n in range(agents)]).all()
        session.execute(insert(QueueMembership), [
            {"queue_id": queue.id, "user_id": user_id} for user_id in user_ids])
        customer_ids = session.scalars(insert(Customer).returning(Customer.id), [
            {"name": f"Customer {n}"} for n in range(CUSTOMERS)]).all()
        session.execute(insert(Conversation), [
            _waiting_row(rng, queue.id, rng.choice(customer_ids), now) for _ in range(items)])
        session.commit()
        return queue.id


def room_for(agents: int) -> int:
    """The most conversations of the mix the agents surely have room for (10 % margin)."""
    return int(0.9 * agents * min(CAPACITY[c.value] / share for c, share in CHANNEL_MIX.items()))


def _waiting_row(rng: random.Random, queue_id: int, customer_id: int, now: Any,
                 ) -> dict[str, Any]:
    since = now - timedelta(seconds=rng.uniform(0, 3600))
    channel = rng.choices(list(CHANNEL_MIX), weights=list(CHANNEL_MIX.values()))[0]
    return {"customer_id": customer_id, "channel": channel, "subject": "Help",
            "priority": rng.choices(list(PRIORITY_MIX), weights=list(PRIORITY_MIX.values()))[0],
            "owner": Owner.QUEUE, "queue_id": queue_id, "created_at": since,
            "waiting_since": since, "required_skills": rng.sample(SKILLS, rng.choice((0, 1, 2)))}


def reset(app: Flask, queue_id: int, strategy: RoutingStrategy) -> None:
    """Every conversation of the queue waiting again, the history empty, statistics fresh."""
    with app.app_context():
        session = db.session
        session.execute(update(Conversation).where(Conversation.queue_id == queue_id).values(
            assignee_id=None, owner=Owner.QUEUE, status=ConversationStatus.NEW,
            routing_reason=None))
        session.execute(update(QueueMembership).values(last_routed_at=None))
        session.execute(update(Queue).where(Queue.id == queue_id).values(
            routing_strategy=strategy))
        session.execute(text("DELETE FROM timeline_events"))
        session.execute(text("DELETE FROM audit_log"))
        session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))


# --- the runs -------------------------------------------------------------------------------


def comptoir_process(url: str, instance: str, queue_id: int, start: Barrier,
                     results: multiprocessing.Queue, handlers: bool = True) -> None:
    """One app process routing the queue (``handlers``: with the app's after-commit
    handlers, as in production; without: routing's own transactions only)."""
    app = create_app({"database_url": url, "instance_path": instance,
                      "secret_key": SECRET_KEY, "log_level": "WARNING"})
    if not handlers:
        app.extensions["comptoir.events"] = EventBus()
    with app.app_context(), unit_of_work() as uow:
        start.wait(RUN_TIMEOUT)
        began = time.perf_counter()
        assigned = routing.route_queue(uow, queue_id)
        results.put((began, time.perf_counter(), len(assigned)))


def ceiling_process(url: str, _instance: str, queue_id: int, start: Barrier,
                    results: multiprocessing.Queue, _handlers: bool = False) -> None:
    """The same conversations, one SKIP LOCKED select and one update each, in SQL."""
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
        agents = [row[0] for row in connection.execute("SELECT id FROM users ORDER BY id")]
        start.wait(RUN_TIMEOUT)
        began = time.perf_counter()
        ids = [row[0] for row in connection.execute(WAITING_IDS, (queue_id,))]
        done = 0
        for conversation_id in ids:
            with connection.transaction():
                if connection.execute(LOCK_IF_WAITING, (conversation_id,)).fetchone():
                    connection.execute(ASSIGN, (agents[done % len(agents)], conversation_id))
                    done += 1
        results.put((began, time.perf_counter(), done))


def timed_run(plan: Plan, url: str, folder: Path, queue_id: int) -> tuple[float, list[int]]:
    """Start the plan's processes together; the wall time and each one's decisions."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(plan.processes), context.Queue()
    target = comptoir_process if plan.strategy else ceiling_process
    workers = [context.Process(target=target, args=(
        url, str(folder / f"run-{n}"), queue_id, start, results, plan.handlers))
        for n in range(plan.processes)]
    for worker in workers:
        worker.start()
    finished = [results.get(timeout=RUN_TIMEOUT) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        if worker.exitcode != 0:
            raise RuntimeError(f"{plan.name}: a process failed (exit code {worker.exitcode})")
    seconds = max(end for _, end, _ in finished) - min(began for began, _, _ in finished)
    return seconds, [count for _, _, count in finished]


def checked_run(app: Flask, url: str, folder: Path, queue_id: int, plan: Plan) -> Run:
    """Reset, route (Comptoir with the plan's strategy, else the SQL ceiling), then check."""
    reset(app, queue_id, plan.strategy or RoutingStrategy.LEAST_LOADED)
    seconds, per_process = timed_run(plan, url, folder, queue_id)
    with app.app_context():
        return Run(plan.name, plan.processes, seconds, per_process,
                   twice=_assigned_twice(per_process, queue_id, plan.handlers),
                   over_capacity=_over_capacity() if plan.strategy else 0,
                   left_waiting=_left_waiting(queue_id))


def _assigned_twice(per_process: list[int], queue_id: int, history: bool) -> int:
    """Conversations with two assignment events, or more decisions than assigned rows."""
    events = db.session.execute(text(
        "SELECT count(*) FROM (SELECT conversation_id FROM timeline_events "
        "WHERE type = 'conversation.assigned' GROUP BY conversation_id "
        "HAVING count(*) > 1) AS doubled")).scalar_one() if history else 0
    assigned = db.session.scalar(select(func.count()).where(
        Conversation.queue_id == queue_id, Conversation.assignee_id.is_not(None)))
    return events + max(0, sum(per_process) - assigned)


def _over_capacity() -> int:
    loads = db.session.execute(
        select(Conversation.assignee_id, Conversation.channel, func.count())
        .where(Conversation.assignee_id.is_not(None),
               Conversation.status.in_(routing.OPEN_STATUSES))
        .group_by(Conversation.assignee_id, Conversation.channel)).all()
    return sum(count > CAPACITY[channel.value] for _, channel, count in loads)


def _left_waiting(queue_id: int) -> int:
    return db.session.scalar(select(func.count()).where(
        Conversation.queue_id == queue_id, routing.waiting_clause()))


def arrival_latencies(app: Flask, queue_id: int) -> list[float]:
    """``routing.route`` for new emails arriving one at a time into the routed queue."""
    rng = random.Random(SEED + 1)  # noqa: S311 -- sample data, not secrets
    seconds = []
    with app.app_context():
        customer_id = db.session.scalar(select(func.min(Customer.id)))
        for _ in range(ARRIVALS):
            row = _waiting_row(rng, queue_id, customer_id, utcnow()) | {
                "channel": Channel.EMAIL, "waiting_since": utcnow()}
            conversation_id = db.session.scalar(
                insert(Conversation).values(row).returning(Conversation.id))
            db.session.commit()
            with unit_of_work() as uow:
                began = time.perf_counter()
                routing.route(uow, conversation_id)
                seconds.append(time.perf_counter() - began)
    return seconds


# --- the report -----------------------------------------------------------------------------


def table(runs: list[Run], ceiling: dict[int, Run]) -> str:
    rows = ["| Run | Processes | Decisions (per process) | Time | Decisions/s | "
            "Of the ceiling | Assigned twice | Past capacity | Left waiting |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for run in runs:
        bound = ceiling.get(run.processes)
        share = f"{run.rate / bound.rate:.0%}" if bound and bound is not run else "—"
        rows.append(f"| {run.name} | {run.processes} | {run.decisions:,} "
                    f"({' + '.join(f'{n:,}' for n in run.per_process)}) | {run.seconds:.1f} s | "
                    f"**{run.rate:,.0f}** | {share} | {run.twice} | {run.over_capacity} | "
                    f"{run.left_waiting} |")
    return "\n".join(rows)


def benchmark(agents: int, items: int) -> str:
    with tempfile.TemporaryDirectory(prefix="comptoir-routing-") as tmp, \
            fresh_database("routing_bench") as database, _app(database, Path(tmp)) as app:
        url = f"{POSTGRES}/{database}"
        queue_id = seed(app, agents, items)
        folder = Path(tmp)
        runs = [checked_run(app, url, folder, queue_id, plan) for plan in PLANS]
        latencies = arrival_latencies(app, queue_id)
    ceiling = {run.processes: run for run in runs if run.name == CEILING}
    return report(agents, items, runs, ceiling, latencies)


def report(agents: int, items: int, runs: list[Run], ceiling: dict[int, Run],
           latencies: list[float]) -> str:
    best, alone = runs[0], next(run for run in runs if "handlers off" in run.name)
    return (f"{agents} online agents in one queue (capacity {CAPACITY}), {items:,} waiting "
            f"conversations (60 % email, 30 % chat, 10 % phone; four priorities; 0-2 required "
            f"skills), a fresh PostgreSQL database on this machine. Each run routes the whole "
            f"queue from the same state, its processes started together; the ceiling does "
            f"only `SELECT … FOR UPDATE SKIP LOCKED` + `UPDATE` per conversation in SQL "
            f"(no capacity, ranking or history). See the module's docstring.\n\n"
            f"{table(runs, ceiling)}\n\n"
            f"**Comptoir routes {best.rate:,.0f} decisions/s in one process "
            f"({best.rate / ceiling[1].rate:.0%} of the bare-SQL ceiling's "
            f"{ceiling[1].rate:,.0f}/s)**, with no conversation assigned twice and nobody past "
            f"capacity, two processes included. Routing's own transactions, the after-commit "
            f"handlers off, run at {alone.rate:,.0f} decisions/s "
            f"({alone.rate / ceiling[1].rate:.0%} of the ceiling). A new conversation "
            f"arriving in the routed queue ({items:,} open items across the {agents} agents) "
            f"is routed in "
            f"{ms(percentile(latencies, 50))} p50 / {ms(percentile(latencies, 95))} p95 "
            f"({ARRIVALS} arrivals, `routing.route`).\n")


def _app(database: str, folder: Path) -> AbstractContextManager[Flask]:
    return migrated_app({"database_url": f"{POSTGRES}/{database}",
                         "instance_path": str(folder / "instance"), "secret_key": SECRET_KEY,
                         "log_level": "WARNING"})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=500, help="online agents (default 500)")
    parser.add_argument("--items", type=int, default=10_000,
                        help="waiting conversations (default 10,000)")
    parser.add_argument("--write", action="store_true",
                        help="update this benchmark's section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.agents < 1 or args.items < 1:
        parser.error("--agents and --items: at least 1")
    if args.items > room_for(args.agents):
        parser.error(f"--items: at most {room_for(args.agents):,} for {args.agents} agents "
                     f"(each routing decision must find room)")
    load = load_note()
    section = (f"### Routing (issue 7)\n\n{header(MODULE, load)}\n"
               f"{benchmark(args.agents, args.items)}")
    print(section)
    if args.write:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
