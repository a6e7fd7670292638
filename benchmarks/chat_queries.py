"""What one chat request costs the server on its own: SQL statements, connections held at
once, wall and CPU time, measured in-process (Flask-SocketIO's and Flask's test clients)
on the benchmark's database, one request at a time, so nothing else competes.

The load test tells how fast the whole is; this tells which request costs what, and so
where a fix would pay.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask_socketio import SocketIOTestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from benchmarks.chat_cluster import Seed
from helpdesk import create_app
from helpdesk.extensions import db, socketio


@dataclass
class Tally:
    """Statements run and pool connections checked out, the most at once."""

    statements: int = 0
    checked_out: int = 0
    most_checked_out: int = 0

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "checkout", self._checkout)
        event.listen(engine, "checkin", self._checkin)

    def _statement(self, *_args: Any) -> None:
        self.statements += 1

    def _checkout(self, *_args: Any) -> None:
        self.checked_out += 1
        self.most_checked_out = max(self.most_checked_out, self.checked_out)

    def _checkin(self, *_args: Any) -> None:
        self.checked_out -= 1


@dataclass
class Cost:
    """The mean cost of one request of a kind."""

    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    connections: int = 0

    def mean(self, values: list[float] | list[int]) -> float:
        return sum(values) / len(values) if values else 0.0


class Meter:
    """Runs requests one at a time and keeps what each cost."""

    def __init__(self, app: Flask) -> None:
        self.tally = Tally()
        with app.app_context():
            self.tally.attach(db.engine)
        self.costs: dict[str, Cost] = {}

    def run(self, name: str, request: Callable[[], Any]) -> Any:
        cost = self.costs.setdefault(name, Cost(name))
        self.tally.most_checked_out = self.tally.checked_out
        statements, wall, cpu = self.tally.statements, time.perf_counter(), time.thread_time()
        answer = request()
        cost.cpu.append(time.thread_time() - cpu)
        cost.wall.append(time.perf_counter() - wall)
        cost.statements.append(self.tally.statements - statements)
        cost.connections = max(cost.connections, self.tally.most_checked_out)
        return answer


@contextmanager
def in_process_app(settings: dict[str, str]) -> Iterator[Flask]:
    """The app on the benchmark's (already seeded) database, in this process; in testing
    mode, so that after-commit work done on worker threads in a server (the assistant's
    look at each customer message) runs inline and counts in the request's cost."""
    app = create_app({**settings, "redis_url": "", "testing": True})
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def measure(settings: dict[str, str], seeded: Seed, customers: int = 40,
            messages: int = 4) -> list[Cost]:
    """Connect ``customers`` widgets, start their conversations, send ``messages`` each and
    as many agent replies; the mean cost of each kind of request."""
    with in_process_app(settings) as app:
        meter = Meter(app)
        widgets = [connect(meter, app, seeded.site_key) for _ in range(customers)]
        conversations = [start(meter, widget) for widget in widgets]
        agent = meter.run("/agent connect", lambda: socketio.test_client(
            app, namespace="/agent", auth={"token": seeded.tokens[0]}))
        for conversation_id in conversations:
            meter.run("/agent subscribe", lambda c=conversation_id: agent.emit(
                "subscribe", {"conversation_id": c}, namespace="/agent", callback=True))
        http = app.test_client()
        for n in range(messages):
            for widget, conversation_id in zip(widgets, conversations, strict=True):
                send(meter, widget, conversation_id, f"c{n}-{conversation_id}")
                reply(meter, http, seeded.tokens[0], conversation_id, f"a{n}-{conversation_id}")
        return list(meter.costs.values())


def connect(meter: Meter, app: Flask, site_key: str) -> SocketIOTestClient:
    return meter.run("/chat connect", lambda: socketio.test_client(
        app, namespace="/chat", auth={"site": site_key}))


def start(meter: Meter, widget: SocketIOTestClient) -> int:
    answer = meter.run("conversation.start", lambda: widget.emit(
        "conversation.start", {}, namespace="/chat", callback=True))
    return answer["conversation"]["id"]


def send(meter: Meter, widget: SocketIOTestClient, conversation_id: int, key: str) -> None:
    answer = meter.run("message.send (+ broadcast)", lambda: widget.emit(
        "message.send", {"conversation_id": conversation_id, "client_id": key, "body": key},
        namespace="/chat", callback=True))
    if not answer.get("ok"):
        raise RuntimeError(f"message.send failed: {answer}")


def reply(meter: Meter, http: Any, token: str, conversation_id: int, key: str) -> None:
    response = meter.run("REST reply (+ broadcast)", lambda: http.post(
        f"/api/v1/conversations/{conversation_id}/reply", json={"body": key, "client_id": key},
        headers={"Authorization": f"Bearer {token}"}))
    if response.status_code != 201:
        raise RuntimeError(f"reply failed: {response.status_code} {response.get_data()!r}")


def table(costs: list[Cost]) -> str:
    """Markdown: per request kind, statements, connections at once, wall and CPU time."""
    lines = ["| Request, alone | Count | SQL statements | Pool connections held at once "
             "| Wall (mean) | CPU (mean) |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {c.name} | {len(c.wall)} | {c.mean(c.statements):.1f} | {c.connections} "
              f"| {c.mean(c.wall) * 1000:.1f} ms | {c.mean(c.cpu) * 1000:.1f} ms |"
              for c in costs]
    return "\n".join(lines)
