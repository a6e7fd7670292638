"""The live-chat load generator: one asyncio process of python-socketio clients.

Customers hold ``/chat`` websockets on one server, agents ``/agent`` websockets (each
subscribed to its share of the conversations) on another (or the same); then a constant
offered load of messages, half from customers (``message.send``), half from agents
(``POST /api/v1/conversations/<id>/reply``), each timed from the sender's emit to the other
side's ``message`` / ``conversation.event``. Started by ``benchmarks.chat_transport``:

    .venv/bin/python -m benchmarks.chat_load PLAN.json RESULT.json
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

CHAT, AGENT = "/chat", "/agent"
CUSTOMER, REPLY = "customer", "agent"  # directions: who wrote the message
KEY_PREFIX = "bench:"
WAIT = 60.0
BURST_WAIT = 40.0  # seconds; longer than the server's 30 s database-pool timeout
WINDOW = 5.0  # seconds per bucket of the latency timeline


@dataclass(frozen=True)
class Plan:
    """What to run, written by the orchestrator as JSON."""

    chat_url: str
    agent_url: str
    site_key: str
    tokens: list[str]
    customers: int
    rates: list[float]  # one load phase per rate, in this order
    duration: float
    customer_share: float = 0.5
    connect_concurrency: int = 50
    # Below 15 (the server's pool of 5 + 10 database connections): conversation.start and
    # the REST reply each hold two connections at once, and 15 of them together deadlock
    # the pool until its 30 s timeout (see the burst probe).
    start_concurrency: int = 10
    http_connections: int = 10
    # Messages sent and not yet answered, at most: beyond, a due message is not sent but
    # counted as shed, so an overloaded server gets a bounded backlog, not thousands of
    # handler threads, and the run ends in bounded time.
    max_outstanding: int = 300
    burst: int = 50
    drain_seconds: float = 20.0


@dataclass
class Ledger:
    """Every message sent, and when its ack and its delivery came, in perf_counter seconds."""

    sent: dict[str, tuple[str, float]] = field(default_factory=dict)
    acked: dict[str, float] = field(default_factory=dict)
    delivered: dict[str, float] = field(default_factory=dict)
    duplicates: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    lags: list[float] = field(default_factory=list)  # how late each send left its schedule
    shed: int = 0

    @property
    def outstanding(self) -> int:
        return len(self.sent) - len(self.acked) - sum(self.errors.values())

    def emitted(self, key: str, direction: str) -> float:
        now = time.perf_counter()
        self.sent[key] = (direction, now)
        return now

    def ack(self, key: str, error: str | None) -> None:
        if error is not None:
            self.errors[error] += 1
        else:
            self.acked[key] = time.perf_counter()

    def heard(self, text: str) -> None:
        """A delivery: ``text`` starts with the message's key."""
        now = time.perf_counter()
        key = text.split(" ", 1)[0]
        if key not in self.sent:
            return
        if key in self.delivered:
            self.duplicates += 1
        else:
            self.delivered[key] = now

    def undelivered(self) -> int:
        return len(self.sent) - len(self.delivered)


@dataclass
class Board:
    """What the clients' event handlers write to: the current phase's ledger, the drops."""

    ledger: Ledger = field(default_factory=Ledger)
    disconnects: int = 0


# --- clients ------------------------------------------------------------------------------


@dataclass
class Customer:
    client: socketio.AsyncClient
    conversation_id: int = 0
    connect_seconds: float = 0.0


@dataclass
class Agent:
    client: socketio.AsyncClient
    token: str
    conversations: list[int] = field(default_factory=list)


def new_client(board: Board) -> socketio.AsyncClient:
    """A client that does not reconnect (a dropped connection must show) and counts drops."""
    client = socketio.AsyncClient(reconnection=False, handle_sigint=False)

    async def dropped(*_reason: Any) -> None:
        board.disconnects += 1
    client.on("disconnect", dropped, namespace=CHAT)
    client.on("disconnect", dropped, namespace=AGENT)
    return client


async def connect_customer(plan: Plan, board: Board) -> Customer:
    """A widget: connect to ``/chat`` over a websocket and listen for agents' messages."""
    customer = Customer(new_client(board))

    async def on_message(data: dict[str, Any]) -> None:
        if data.get("author", {}).get("kind") == "agent":
            board.ledger.heard(data.get("body", ""))
    customer.client.on("message", on_message, namespace=CHAT)
    start = time.perf_counter()
    await customer.client.connect(plan.chat_url, namespaces=[CHAT], transports=["websocket"],
                                  auth={"site": plan.site_key}, wait_timeout=WAIT)
    customer.connect_seconds = time.perf_counter() - start
    return customer


async def start_conversation(customer: Customer) -> float:
    """``conversation.start``: the customer's conversation; returns the seconds it took."""
    start = time.perf_counter()
    reply = await customer.client.call("conversation.start", {}, namespace=CHAT, timeout=WAIT)
    if not reply.get("ok"):
        raise RuntimeError(f"conversation.start failed: {reply}")
    customer.conversation_id = reply["conversation"]["id"]
    return time.perf_counter() - start


async def connect_agent(plan: Plan, token: str, conversations: list[int],
                        board: Board) -> Agent:
    """An agent: connect to ``/agent`` with an API token, subscribe to ``conversations``."""
    agent = Agent(new_client(board), token, conversations)

    async def on_event(data: dict[str, Any]) -> None:
        payload = data.get("payload") or {}
        if data.get("type") == "message.posted" and payload.get("author_kind") == "customer":
            board.ledger.heard(payload.get("excerpt", ""))
    agent.client.on("conversation.event", on_event, namespace=AGENT)
    await agent.client.connect(plan.agent_url, namespaces=[AGENT], transports=["websocket"],
                               auth={"token": token}, wait_timeout=WAIT)
    for conversation_id in conversations:
        reply = await agent.client.call("subscribe", {"conversation_id": conversation_id},
                                        namespace=AGENT, timeout=WAIT)
        if not reply.get("ok"):
            raise RuntimeError(f"subscribe failed: {reply}")
    return agent


async def bounded(jobs: Iterable[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    """Run the jobs, at most ``limit`` at a time, results in order."""
    gate = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()
    return await asyncio.gather(*(run(job) for job in jobs))


def alive(customers: list[Customer]) -> int:
    """How many customers' ``/chat`` connections are still up."""
    return sum(1 for c in customers if c.client.connected and CHAT in c.client.namespaces)


# --- sending ------------------------------------------------------------------------------


def body(key: str) -> str:
    return f"{key} Hello, I have a question about my order and the delivery date."


async def customer_sends(customer: Customer, key: str, ledger: Ledger) -> None:
    """``message.send`` from the widget; the ack says the message was stored."""
    def acked(reply: dict[str, Any]) -> None:
        error = None if reply.get("ok") else f"message.send {reply['error']['code']}"
        ledger.ack(key, error)
    ledger.emitted(key, CUSTOMER)
    await customer.client.emit("message.send", {"conversation_id": customer.conversation_id,
                                                "client_id": key, "body": body(key)},
                               namespace=CHAT, callback=acked)


async def agent_replies(http: aiohttp.ClientSession, plan: Plan, agent: Agent,
                        conversation_id: int, key: str, ledger: Ledger) -> None:
    """An agent's reply through the REST API (201 once it is stored)."""
    url = f"{plan.agent_url}/api/v1/conversations/{conversation_id}/reply"
    ledger.emitted(key, REPLY)
    try:
        async with http.post(url, json={"body": body(key), "client_id": key},
                             headers={"Authorization": f"Bearer {agent.token}"}) as response:
            await response.read()
            ledger.ack(key, None if response.status == 201 else f"reply HTTP {response.status}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        ledger.ack(key, f"reply {type(exc).__name__}")


async def offer_load(plan: Plan, rate: float, customers: list[Customer],
                     owners: dict[int, Agent], http: aiohttp.ClientSession,
                     ledger: Ledger) -> float:
    """Offer ``rate`` messages a second for ``plan.duration`` seconds, whatever the answers
    (open loop, shedding beyond ``plan.max_outstanding``); conversations take turns.
    Returns the start time."""
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter() + 0.05
    counts = Counter[str]()
    for n in range(int(rate * plan.duration)):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        ledger.lags.append(time.perf_counter() - due)
        direction = CUSTOMER if share_turn(n, plan.customer_share) else REPLY
        turn = counts[direction]
        counts[direction] += 1
        if ledger.outstanding >= plan.max_outstanding:
            ledger.shed += 1
            continue
        customer = customers[turn % len(customers)]
        key = f"{KEY_PREFIX}{rate:g}{direction[0]}{n}"
        job = (customer_sends(customer, key, ledger) if direction == CUSTOMER else
               agent_replies(http, plan, owners[customer.conversation_id],
                             customer.conversation_id, key, ledger))
        task = asyncio.create_task(job)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=plan.drain_seconds)
    return start


def share_turn(n: int, share: float) -> bool:
    """Whether message ``n`` is the customers': spread evenly, ``share`` of them in all."""
    return int((n + 1) * share) > int(n * share)


async def drain(ledger: Ledger, seconds: float) -> None:
    """Wait until every sent message was answered and delivered, or ``seconds`` passed."""
    deadline = time.perf_counter() + seconds
    while (ledger.undelivered() or ledger.outstanding) and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)


# --- figures ------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max in seconds (nearest rank); empty when there is nothing."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]
    return {"p50": rank(50), "p95": rank(95), "p99": rank(99), "max": ordered[-1],
            "count": len(ordered)}


def direction_figures(ledger: Ledger, direction: str, start: float) -> dict[str, Any]:
    """Delivery and ack latencies of one direction, and its delivery p95 per 5 s window."""
    keys = [k for k, (d, _) in ledger.sent.items() if d == direction]
    delivery = [(ledger.sent[k][1], ledger.delivered[k] - ledger.sent[k][1])
                for k in keys if k in ledger.delivered]
    acks = [ledger.acked[k] - ledger.sent[k][1] for k in keys if k in ledger.acked]
    return {"sent": len(keys), "stored": len(acks), "delivered": len(delivery),
            "delivery": percentiles([latency for _, latency in delivery]),
            "ack": percentiles(acks), "timeline": timeline(delivery, start)}


def timeline(delivery: list[tuple[float, float]], start: float) -> list[float]:
    """Delivery p95 of the messages sent in each ``WINDOW`` seconds of the run."""
    buckets: dict[int, list[float]] = {}
    for sent, latency in delivery:
        buckets.setdefault(int((sent - start) // WINDOW), []).append(latency)
    return [percentiles(buckets[b])["p95"] for b in sorted(buckets)]


def throughput(ledger: Ledger, start: float) -> dict[str, float]:
    """Messages a second: sent, stored (acknowledged), delivered."""
    def rate(times: Iterable[float]) -> float:
        stamps = list(times)
        return len(stamps) / (max(stamps) - start) if stamps else 0.0
    return {"sent": rate(t for _, t in ledger.sent.values()),
            "stored": rate(ledger.acked.values()), "delivered": rate(ledger.delivered.values())}


# --- the run ------------------------------------------------------------------------------


async def run(plan: Plan) -> dict[str, Any]:
    """Connect everyone, offer each rate in turn, probe a burst; return the figures."""
    board = Board()
    customers, agents, result = await connect_everyone(plan, board)
    owners = {cid: agent for agent in agents for cid in agent.conversations}
    result["phases"] = [await load_phase(plan, rate, customers, owners, board)
                        for rate in plan.rates]
    result["alive_after"] = alive(customers)
    result["agents_alive"] = sum(1 for a in agents if a.client.connected)
    result["disconnects"] = board.disconnects
    if plan.burst:
        announce("burst")
        result["burst"] = await burst(plan)
    await bounded([lambda c=c: c.client.disconnect() for c in [*customers, *agents]], 100)
    return result


async def connect_everyone(plan: Plan, board: Board,
                           ) -> tuple[list[Customer], list[Agent], dict[str, Any]]:
    """The widgets (each with a conversation) and the agents; how long that took."""
    started = time.perf_counter()
    customers = await bounded([lambda: connect_customer(plan, board)] * plan.customers,
                              plan.connect_concurrency)
    result: dict[str, Any] = {"connect": {"seconds": time.perf_counter() - started, "each":
                                          percentiles([c.connect_seconds for c in customers])}}
    started = time.perf_counter()
    start_times = await bounded([lambda c=c: start_conversation(c) for c in customers],
                                plan.start_concurrency)
    result["start"] = {"seconds": time.perf_counter() - started,
                       "each": percentiles(start_times)}
    agents = await connect_agents(plan, customers, board)
    result["alive_before"] = alive(customers)
    return customers, agents, result


async def connect_agents(plan: Plan, customers: list[Customer], board: Board) -> list[Agent]:
    """The agents, each subscribed to an equal share of the conversations."""
    conversations = [c.conversation_id for c in customers]
    shares = [conversations[n::len(plan.tokens)] for n in range(len(plan.tokens))]
    return list(await asyncio.gather(*(connect_agent(plan, token, share, board)
                                       for token, share in zip(plan.tokens, shares,
                                                               strict=True))))


async def load_phase(plan: Plan, rate: float, customers: list[Customer],
                     owners: dict[int, Agent], board: Board) -> dict[str, Any]:
    """One timed phase at ``rate``: the offered load, then the drain; with this process's
    CPU use while offering."""
    ledger = board.ledger = Ledger()
    announce(f"load-{rate:g}")
    cpu, wall = time.process_time(), time.perf_counter()
    connector = aiohttp.TCPConnector(limit=plan.http_connections)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=WAIT)) as http:
        start = await offer_load(plan, rate, customers, owners, http, ledger)
    load_cpu = (time.process_time() - cpu) / (time.perf_counter() - wall)
    announce(f"drain-{rate:g}")
    await drain(ledger, plan.drain_seconds)
    return {"rate": rate, "generator_cpu": load_cpu, "shed": ledger.shed,
            "throughput": {"offered": rate, **throughput(ledger, start)},
            "directions": {d: direction_figures(ledger, d, start) for d in (CUSTOMER, REPLY)},
            "lag": percentiles(ledger.lags), "errors": dict(ledger.errors),
            "unacked": ledger.outstanding, "undelivered": ledger.undelivered(),
            "duplicates": ledger.duplicates, "disconnects": board.disconnects}


async def burst(plan: Plan) -> dict[str, Any]:
    """``plan.burst`` more widgets connect, then all send ``conversation.start`` at once:
    how many are answered, and how long the slowest took (a lost answer costs ``BURST_WAIT``)."""
    extra = await bounded([lambda: connect_customer(plan, Board())] * plan.burst,
                          plan.connect_concurrency)
    started = time.perf_counter()
    answers = await asyncio.gather(*(start_or_none(c) for c in extra))
    seconds = time.perf_counter() - started
    await bounded([lambda c=c: c.client.disconnect() for c in extra], 100)
    return {"asked": len(extra), "answered": sum(a is not None for a in answers),
            "seconds": seconds, "each": percentiles([a for a in answers if a is not None])}


async def start_or_none(customer: Customer) -> float | None:
    """``conversation.start``'s seconds, or None when no answer came in ``BURST_WAIT``."""
    try:
        return await asyncio.wait_for(start_conversation(customer), BURST_WAIT)
    except (TimeoutError, socketio.exceptions.TimeoutError, RuntimeError):
        return None


def announce(phase: str) -> None:
    """Tell the orchestrator (reading our stdout) which phase starts."""
    print(f"phase {phase}", flush=True)


def main(argv: list[str] | None = None) -> None:
    plan_path, result_path = (argv if argv is not None else sys.argv[1:])[:2]
    plan = Plan(**json.loads(Path(plan_path).read_text()))
    result = asyncio.run(run(plan))
    Path(result_path).write_text(json.dumps({"plan": asdict(plan), **result}, indent=1))


if __name__ == "__main__":
    main()
