"""Reports (issue 8): each report's query time at 1 million timeline events on PostgreSQL,
over the last 30 days and the last year, beside a ceiling: a bare ``count(*)`` of the rows the
report must read, over the same range and index.

A fresh database gets a year of a help desk's history, bulk-loaded (no services, no after-
commit work): 20 queues (half with business hours, a third with an SLA policy), 50 agents and
their presence history (online 09:00-12:30 and 13:30-18:00 on working days), 30,000
customers, and conversations until the timeline holds ``--events`` events (1 million), each
conversation written as the services would write it: its opening, messages (customer, the
assistant, agents) and their ``message.posted`` events, routing, assignment, status and owner
changes, the assistant's handoffs with their reasons, solves, closes and reopenings, CSAT
ratings with their attribution, SLA clocks and breaches. Volumes follow working hours and
weekdays; 30% of conversations are chats, 60% of those start with the assistant, which
solves 45% of them alone. Conversations, customers and staff are inserted with SQLAlchemy
Core, messages and timeline events with COPY; then ``ANALYZE``.

Each report (``helpdesk.services.reports.run``, as the page and the API call it) runs
``--repeat`` times after a warm-up, one at a time; so do three drill-downs (their first
page) and the ceilings.

    .venv/bin/python -m benchmarks.reports [--events 1000000] [--repeat 7] [--write]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from psycopg.types.json import Json
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from benchmarks.chat_cluster import fresh_database, scratch_folder
from benchmarks.common import command_line, cpu_model, percentile, timed_runs, write_section
from helpdesk.extensions import db
from helpdesk.migrate import migrated_app
from helpdesk.models import (
    BusinessCalendar,
    Conversation,
    ConversationSla,
    Customer,
    Message,
    PresenceChange,
    Queue,
    Role,
    SlaBreach,
    SlaDeadline,
    SlaPolicy,
    TimelineEvent,
    User,
)
from helpdesk.services import reports
from helpdesk.services.reports.scope import ReportFilter

MODULE, SECTION = "benchmarks.reports", "reports"
QUEUES, AGENTS, CUSTOMERS = 20, 50, 30_000
DAYS = 365
BATCH = 1_000
WARM_UP = 1
TARGET_SECONDS = 1.0
OFFICE = {day: ["09:00-12:30", "13:30-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
CHANNEL_MIX = [("email", 50), ("chat", 30), ("phone", 12), ("web_form", 8)]
REASONS = [("asked_for_human", 40), ("low_confidence", 25), ("no_articles", 20),
           ("unhelpful_streak", 10), ("marked_unhelpful", 5)]
# Contacts per hour of the day (local), working days; weekends get a fifth of it.
HOURLY = [1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 15, 13, 10, 12, 14, 13, 11, 9, 7, 5, 4, 3, 2, 1]
TIMELINE_COLUMNS = ("id", "customer_id", "conversation_id", "type", "channel", "actor_kind",
                    "actor_id", "payload", "occurred_at")
MESSAGE_COLUMNS = ("id", "conversation_id", "seq", "author_kind", "author_id", "body",
                   "internal", "channel", "meta", "created_at")
SENTENCES = ["Hello, my order has not arrived.", "Could you check where my parcel is?",
             "The kettle I received does not work.", "I would like a refund please.",
             "We are looking into it.", "Your refund will be made within five working days.",
             "Thanks, that solved it.", "Here is the tracking link for your parcel."]


# --- the fixture ----------------------------------------------------------------------------


@dataclass
class Desk:
    """Ids of what the fixture made, and the rows being written."""

    now: datetime
    agents: list[int]
    queues: list[int]
    sla_queues: dict[int, int]  # queue -> policy
    customers: list[int]
    events: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    next_event: int = 1
    next_message: int = 1


@dataclass
class Thread:
    """One conversation being written: its row, its clock, its counters."""

    desk: Desk
    row: dict[str, Any]
    at: datetime
    seq: int = 0
    slas: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.row["id"]

    def later(self, seconds: float) -> datetime:
        self.at = min(self.at + timedelta(seconds=seconds), self.desk.now)
        return self.at

    def event(self, kind: str, actor: str, actor_id: int | None, payload: dict[str, Any]) -> None:
        desk = self.desk
        desk.events.append((desk.next_event, self.row["customer_id"], self.id, kind,
                            self.row["channel"], actor, actor_id, Json(payload), self.at))
        desk.next_event += 1

    def say(self, author: str, author_id: int | None, rng: random.Random) -> None:
        desk, self.seq = self.desk, self.seq + 1
        body = rng.choice(SENTENCES)
        desk.messages.append((desk.next_message, self.id, self.seq, author, author_id, body,
                              False, self.row["channel"], Json({}), self.at))
        self.event("message.posted", author, author_id,
                   {"message_id": desk.next_message, "seq": self.seq, "author_kind": author,
                    "internal": False, "excerpt": body})
        desk.next_message += 1
        self.row.update(last_seq=self.seq, last_message_at=self.at)

    def status(self, new: str, actor: str, actor_id: int | None) -> None:
        self.event("conversation.status_changed", actor, actor_id,
                   {"from": self.row["status"], "to": new})
        self.row["status"] = new
        if new == "solved":
            self.row["solved_at"] = self.at
        elif new == "closed":
            self.row["closed_at"] = self.at
        else:
            self.row["solved_at"] = None

    def owner(self, new: str, actor: str, reason: str) -> None:
        self.event("conversation.owner_changed", actor, None,
                   {"from": self.row["owner"], "to": new, "reason": reason})
        self.row["owner"] = new


def load(app: Flask, events: int, rng: random.Random) -> tuple[int, int]:
    """The desk's rows (conversations until ``events`` timeline events); (conversations,
    messages)."""
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context(), db.engine.begin() as connection:
        desk = _desk(connection, now)
        _presence(connection, desk)
        made = 0
        while desk.next_event <= events:
            threads = [_conversation(desk, made + n + 1, rng) for n in range(BATCH)]
            made += len(threads)
            _write(connection, desk, threads)
        _restart_sequences(connection)
        connection.execute(text("ANALYZE"))
    return made, desk.next_message - 1


def _desk(connection: Connection, now: datetime) -> Desk:
    agents = list(connection.scalars(insert(User).returning(User.id), [
        {"email": f"agent{n}@bench.example", "name": f"Agent {n}", "role": Role.AGENT,
         "password_hash": "-"} for n in range(AGENTS)]))
    calendar = connection.scalar(insert(BusinessCalendar).returning(BusinessCalendar.id),
                                 {"name": "Office", "timezone": "Europe/Paris", "hours": OFFICE})
    policy = connection.scalar(insert(SlaPolicy).returning(SlaPolicy.id),
                               {"name": "Standard", "calendar_id": None})
    queues = list(connection.scalars(insert(Queue).returning(Queue.id), [
        {"name": f"Queue {n}", "channels": ["email", "chat"],
         "business_hours_id": calendar if n % 2 == 0 else None,
         "sla_policy_id": policy if n % 3 == 0 else None} for n in range(QUEUES)]))
    customers = list(connection.scalars(insert(Customer).returning(Customer.id),
                                        [{"name": f"Client {n}"} for n in range(CUSTOMERS)]))
    sla_queues = {q: policy for n, q in enumerate(queues) if n % 3 == 0}
    return Desk(now, agents, queues, sla_queues, customers)


def _presence(connection: Connection, desk: Desk) -> None:
    """Each agent online 09:00-12:30 and 13:30-18:00 (UTC) on working days, a year long."""
    rows = []
    first = (desk.now - timedelta(days=DAYS)).date()
    for n in range(DAYS):
        day = first + timedelta(days=n)
        if day.weekday() >= 5:
            continue
        for agent in desk.agents:
            for hour, minute, presence in ((9, 0, "online"), (12, 30, "away"),
                                           (13, 30, "online"), (18, 0, "offline")):
                at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                rows.append({"user_id": agent, "presence": presence, "changed_at": at})
    connection.execute(insert(PresenceChange), rows)


def _opened_at(desk: Desk, rng: random.Random) -> datetime:
    """A working-hours-shaped instant of the last year."""
    while True:
        day = desk.now - timedelta(days=rng.randrange(DAYS))
        if day.weekday() < 5 or rng.random() < 0.2:
            break
    hour = rng.choices(range(24), HOURLY)[0]
    start = day.replace(hour=hour, minute=0, second=0)
    return min(start + timedelta(seconds=rng.randrange(3600)), desk.now)


def _conversation(desk: Desk, cid: int, rng: random.Random) -> Thread:
    channel = rng.choices([c for c, _ in CHANNEL_MIX], [w for _, w in CHANNEL_MIX])[0]
    bot = channel == "chat" and rng.random() < 0.6
    opened = _opened_at(desk, rng)
    row = {"id": cid, "customer_id": rng.choice(desk.customers), "channel": channel,
           "subject": "Help", "status": "new", "priority": "normal",
           "owner": "bot" if bot else "queue", "queue_id": None if bot else rng.choice(
               desk.queues), "assignee_id": None, "created_at": opened, "updated_at": opened,
           "first_response_at": None, "solved_at": None, "closed_at": None,
           "last_message_at": None, "last_seq": 0, "csat_rating": None,
           "csat_given_at": None, "csat_agent_id": None, "csat_queue_id": None,
           "csat_by_assistant": False}
    thread = Thread(desk, row, opened)
    thread.event("conversation.opened", "system" if channel == "phone" else "customer",
                 None, {"subject": "Help"})
    if channel != "phone":
        thread.say("customer", row["customer_id"], rng)
    if bot and _assistant(thread, rng):
        return thread
    _people(thread, rng)
    return thread


def _assistant(thread: Thread, rng: random.Random) -> bool:
    """The assistant answers; it solves alone (True) or hands over to a queue."""
    thread.later(rng.uniform(2, 20))
    thread.say("bot", None, rng)
    if rng.random() < 0.45:
        thread.later(rng.uniform(60, 600))
        thread.status("solved", "bot", None)
        _rate(thread, rng, by_assistant=True)
        _close_later(thread, rng)
        return True
    thread.later(rng.uniform(30, 300))
    thread.row["queue_id"] = rng.choice(thread.desk.queues)
    thread.owner("queue", "bot", rng.choices([r for r, _ in REASONS],
                                             [w for _, w in REASONS])[0])
    thread.say("bot", None, rng)
    return False


def _people(thread: Thread, rng: random.Random) -> None:
    """Routing assigns an agent, who answers, exchanges a few messages and (mostly) solves."""
    agent = rng.choice(thread.desk.agents)
    thread.later(rng.lognormvariate(6, 1.5))  # a few minutes to hours in the queue
    thread.event("conversation.routed", "system", None, {"decision": "assigned",
                                                          "agent_id": agent})
    thread.event("conversation.assigned", "system", None, {
        "assignee_id": agent, "queue_id": thread.row["queue_id"],
        "previous_assignee_id": None, "previous_queue_id": thread.row["queue_id"]})
    thread.owner("agent", "system", "assigned")
    thread.row["assignee_id"] = agent
    thread.status("open", "system", None)
    thread.later(rng.lognormvariate(6, 1.2))
    thread.say("agent", agent, rng)
    thread.row["first_response_at"] = thread.at
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        thread.later(rng.lognormvariate(8, 1.5))
        thread.say("customer", thread.row["customer_id"], rng)
        thread.later(rng.lognormvariate(7, 1.3))
        thread.say("agent", agent, rng)
    if rng.random() < 0.85 and thread.at < thread.desk.now:
        _solve(thread, agent, rng)
    _sla(thread, rng)


def _solve(thread: Thread, agent: int, rng: random.Random) -> None:
    thread.later(rng.lognormvariate(7, 1.5))
    thread.status("solved", "agent", agent)
    if rng.random() < 0.08:  # the customer writes again: reopened, answered, solved again
        thread.later(rng.lognormvariate(9, 1))
        thread.say("customer", thread.row["customer_id"], rng)
        thread.status("open", "customer", thread.row["customer_id"])
        thread.later(rng.lognormvariate(7, 1))
        thread.say("agent", agent, rng)
        thread.later(600)
        thread.status("solved", "agent", agent)
    _rate(thread, rng, by_assistant=False)
    _close_later(thread, rng)


def _rate(thread: Thread, rng: random.Random, *, by_assistant: bool) -> None:
    if rng.random() >= 0.3 or thread.at >= thread.desk.now:
        return
    thread.later(rng.uniform(30, 3600))
    rating = rng.choices(range(1, 6), [5, 5, 10, 30, 50])[0]
    row = thread.row
    row.update(csat_rating=rating, csat_given_at=thread.at, csat_by_assistant=by_assistant,
               csat_agent_id=row["assignee_id"], csat_queue_id=row["queue_id"])
    thread.event("conversation.rated", "customer", row["customer_id"], {
        "rating": rating, "comment": "", "agent_id": row["assignee_id"],
        "queue_id": row["queue_id"], "by_assistant": by_assistant})


def _close_later(thread: Thread, rng: random.Random) -> None:
    if rng.random() < 0.6 and thread.at + timedelta(days=3) < thread.desk.now:
        thread.later(3 * 86400)
        thread.status("closed", "system", None)


def _sla(thread: Thread, rng: random.Random) -> None:
    """Clocks (first response 60 min, resolution 8 h, wall-clock) in the queues with a
    policy; a breach recorded for each late one."""
    row = thread.row
    policy = thread.desk.sla_queues.get(row["queue_id"])
    if policy is None:
        return
    done = row["solved_at"] or row["closed_at"]
    for metric, minutes, met in (("first_response", 60, row["first_response_at"]),
                                 ("resolution", 480, done)):
        due = row["created_at"] + timedelta(minutes=minutes)
        late = (met or thread.desk.now) > due
        thread.slas.append({"metric": metric, "minutes": minutes, "due": due, "met": met,
                            "breached": min(met or thread.desk.now, thread.at) if late else None})
    for sla in thread.slas:
        if sla["breached"]:
            saved, thread.at = thread.at, sla["breached"]
            thread.event("sla.breached", "system", None, {
                "metric": sla["metric"], "due_at": sla["due"].isoformat(), "actions": []})
            thread.at = saved


def _write(connection: Connection, desk: Desk, threads: list[Thread]) -> None:
    connection.execute(insert(Conversation), [t.row for t in threads])
    _slas(connection, desk, threads)
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        _copy(cursor, "timeline_events", TIMELINE_COLUMNS, desk.events)
        _copy(cursor, "messages", MESSAGE_COLUMNS, desk.messages)
    desk.events.clear()
    desk.messages.clear()


def _slas(connection: Connection, desk: Desk, threads: list[Thread]) -> None:
    clocked = [t for t in threads if t.slas]
    if not clocked:
        return
    connection.execute(insert(ConversationSla), [
        {"conversation_id": t.id, "policy_id": desk.sla_queues[t.row["queue_id"]],
         "calendar_id": None, "priority": "normal"} for t in clocked])
    connection.execute(insert(SlaDeadline), [
        {"conversation_id": t.id, "metric": s["metric"], "started_at": t.row["created_at"],
         "target_minutes": s["minutes"], "due_at": None if s["met"] else s["due"],
         "met_at": s["met"], "breached_at": s["breached"]} for t in clocked for s in t.slas])
    breaches = [{"conversation_id": t.id, "metric": s["metric"], "due_at": s["due"],
                 "breached_at": s["breached"], "queue_id": t.row["queue_id"],
                 "priority": "normal"} for t in clocked for s in t.slas if s["breached"]]
    if breaches:
        connection.execute(insert(SlaBreach), breaches)


def _copy(cursor: Any, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _restart_sequences(connection: Connection) -> None:
    for table in ("conversations", "messages", "timeline_events"):
        connection.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"(SELECT max(id) FROM {table}))"))


# --- the measures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    name: str
    days: int
    seconds: list[float]
    ceiling: list[float]

    @property
    def p50(self) -> float:
        return percentile(self.seconds, 50)

    @property
    def p95(self) -> float:
        return percentile(self.seconds, 95)


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    return timed_runs(action, repeat, warm_up=WARM_UP)


def ranges(today: date) -> Iterator[tuple[int, ReportFilter]]:
    for days in (30, DAYS):
        yield days, ReportFilter(today - timedelta(days=days - 1), today, ZoneInfo("UTC"))


def ceilings(f: ReportFilter) -> dict[str, Any]:
    """Per report, the bare count of the rows it reads in the range, on the index it uses."""
    def count(*where: Any, table: Any = Conversation) -> Any:
        return select(func.count()).select_from(table).where(*where)

    created = (Conversation.created_at >= f.since, Conversation.created_at < f.until)
    status = (TimelineEvent.type == "conversation.status_changed",
              TimelineEvent.occurred_at >= f.since, TimelineEvent.occurred_at < f.until)
    return {"volumes": count(*created), "response_times": count(*created),
            "sla": count(*created), "backlog": count(*status, table=TimelineEvent),
            "csat": count(Conversation.csat_given_at >= f.since,
                          Conversation.csat_given_at < f.until),
            "agents": count(Message.created_at >= f.since, Message.created_at < f.until,
                            table=Message),
            "assistant": count(*created)}


DRILLS = [("volumes", "channel", "chat"), ("assistant", "resolved", "all"),
          ("backlog", "open_at_end", "{end}")]


def measure(app: Flask, repeat: int) -> list[Measure]:
    measures = []
    with app.app_context():
        session: Session = db.session
        for days, f in ranges(datetime.now(UTC).date()):
            bounds = ceilings(f)
            for name in reports.REPORTS:
                seconds = timed(_run(session, partial(reports.run, session, name, f)), repeat)
                ceiling = timed(_run(session, partial(session.scalar, bounds[name])), repeat)
                measures.append(Measure(name, days, seconds, ceiling))
            for name, metric, key in DRILLS:
                drill = _run(session, partial(reports.drill_down, session, name, f, metric,
                                              key.format(end=f.end)))
                measures.append(Measure(f"{name} drill-down: {metric}", days,
                                        timed(drill, repeat), []))
    return measures


def _run(session: Session, action: Callable[[], object]) -> Callable[[], object]:
    """``action``, each call its own transaction, as in the app."""
    def run() -> object:
        try:
            return action()
        finally:
            session.rollback()
    return run


# --- the report -----------------------------------------------------------------------------


def report(measures: list[Measure], counts: dict[str, int], load_seconds: float,
           repeat: int, load_average: tuple[float, float, float]) -> str:
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:,.0f} ms"

    rows = "\n".join(
        f"| {m.name} | {m.days} days | {ms(m.p50)} | {ms(m.p95)} | "
        f"{ms(percentile(m.ceiling, 50)) if m.ceiling else '—'} | "
        f"{'yes' if m.p95 < TARGET_SECONDS else '**no**'} |" for m in measures)
    load = " / ".join(f"{value:.2f}" for value in load_average)
    return f"""## Reports at {counts['timeline_events']:,} timeline events (PostgreSQL)

- Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}
- Machine: {len(os.sched_getaffinity(0))}-core {cpu_model()}, shared with other work; load
  average at start (1/5/15 min) {load}; PostgreSQL on the same machine
- Command: `{command_line(MODULE)}`
- Fixture: {counts['timeline_events']:,} timeline events of {counts['conversations']:,}
  conversations ({counts['messages']:,} messages, {counts['presence_changes']:,} presence
  changes, {counts['sla_breaches']:,} SLA breaches) over a year, {CUSTOMERS:,} customers,
  {QUEUES} queues, {AGENTS} agents; bulk-loaded in {load_seconds:.0f} s, then `ANALYZE`
- Each line: {repeat} runs after {WARM_UP} warm-up run, one at a time, in-process (the
  service the page and the API call); ranges end today, in UTC. Ceiling: the median of a bare
  `count(*)` of the rows the report reads over the same range (conversations opened for most
  reports, status changes for the backlog, ratings for CSAT, messages for agents); target:
  p95 under {TARGET_SECONDS:.0f} s

| Report | Range | p50 | p95 | Ceiling (count) | Under 1 s |
|---|---|---:|---:|---:|---|
{rows}
"""


def _counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {table.__tablename__: db.session.scalar(select(func.count()).select_from(table))
                for table in (TimelineEvent, Conversation, Message, PresenceChange, SlaBreach)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    load_average = os.getloadavg()
    with scratch_folder() as folder, fresh_database("postgres", folder) as url, migrated_app(
            {"database_url": url, "instance_path": str(folder / "instance"),
             "secret_key": "benchmark", "log_level": "WARNING"}) as app:
        start = time.perf_counter()
        load(app, args.events, random.Random(8))  # noqa: S311 (test data)
        load_seconds = time.perf_counter() - start
        print(f"loaded in {load_seconds:.0f} s", flush=True)
        measures = measure(app, args.repeat)
        markdown = report(measures, _counts(app), load_seconds, args.repeat, load_average)
    print(markdown)
    if args.write:
        write_section(SECTION, markdown)


if __name__ == "__main__":
    main()
