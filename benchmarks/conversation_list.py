"""Agent conversation list (issue 7): the p95 of the list the inbox runs and of full-text
search, at 100,000 conversations on PostgreSQL.

A fresh database gets, by Core bulk inserts (no events, no history: only the rows the
list reads): 20 queues, 50 agents, 30,000 customers, 100,000 conversations spread over a
year (a backlog of about 18% still active, the rest solved or closed), about four French
or English messages each, tags on one in ten. Then ``ANALYZE``.

Each query runs ``--repeat`` times after a warm-up, one at a time, in-process:

- the list service the inbox and ``GET /api/v1/conversations`` call
  (``queries.list_conversations``: the page of 25 and its total);
- the same with a full-text search (``q``), ranked by relevance;
- the whole inbox page (``GET /conversations``, HTML with the sidebar's counts), as a
  logged-in agent, through Flask's test client.

    .venv/bin/python -m benchmarks.conversation_list [--conversations 100000]
        [--repeat 30] [--write]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection
from werkzeug.security import generate_password_hash

from benchmarks.chat_cluster import fresh_database, scratch_folder
from benchmarks.common import command_line, cpu_model, percentile, write_section
from helpdesk.extensions import db
from helpdesk.migrate import migrated_app
from helpdesk.models import (
    AuthorKind,
    Channel,
    Conversation,
    ConversationStatus,
    ConversationTag,
    Customer,
    Identity,
    IdentityKind,
    Message,
    Owner,
    Priority,
    Queue,
    Role,
    User,
)
from helpdesk.services.queries import ConversationFilter, Sort, list_conversations

MODULE, SECTION = "benchmarks.conversation_list", "conversation-list"
QUEUES, AGENTS, CUSTOMERS = 20, 50, 30_000
MESSAGES_PER_CONVERSATION = (2, 6)
BATCH = 5_000
WARM_UP = 3
PASSWORD = "benchmark password"  # noqa: S105 (a throw-away database's agent)
S = ConversationStatus
ACTIVE = [S.NEW, S.OPEN, S.PENDING, S.ON_HOLD]
STATUS_MIX = [(S.CLOSED, 70), (S.SOLVED, 12), (S.OPEN, 8), (S.PENDING, 4), (S.NEW, 3),
              (S.ON_HOLD, 3)]
PRIORITY_MIX = [(Priority.NORMAL, 60), (Priority.LOW, 20), (Priority.HIGH, 15),
                (Priority.URGENT, 5)]
CHANNEL_MIX = [(Channel.EMAIL, 55), (Channel.CHAT, 30), (Channel.PHONE, 10),
               (Channel.WEB_FORM, 5)]
PRODUCTS = [f"{kind}-{model}" for kind in (
    "cafetière", "bouilloire", "grille-pain", "casque", "enceinte", "kettle", "toaster",
    "headphones", "speaker", "lampe") for model in ("alto", "brio", "cima", "dolce", "etna",
                                                    "fiore", "gusto", "isola", "lago", "nova",
                                                    "opera", "rosa", "sole", "terra",
                                                    "vento", "zeta", "luna", "mare", "neve",
                                                    "onda")]
SUBJECTS = {
    "fr": ["Remboursement de la commande {order}", "Réclamation : colis endommagé",
           "Problème de livraison {order}", "Question sur ma facture {order}",
           "Changement d'adresse", "{product} défectueux", "Annulation de la commande {order}",
           "Retour d'un article", "Colis jamais reçu", "Garantie {product}"],
    "en": ["Refund for order {order}", "Where is my parcel?", "Damaged {product}",
           "Invoice question {order}", "Change my delivery address", "Cancel order {order}",
           "Return request", "Login problem", "My parcel never arrived", "{product} warranty"],
}
SENTENCES = {
    "fr": ["Bonjour, j'ai passé la commande {order} il y a dix jours.",
           "Le colis est arrivé endommagé et la {product} ne fonctionne pas.",
           "Je souhaite un remboursement ou un échange.",
           "Pouvez-vous me dire où en est ma réclamation ?",
           "La facture ne correspond pas au montant payé.",
           "Merci de votre retour rapide.", "Je n'ai toujours rien reçu.",
           "Nous avons transmis votre demande au transporteur.",
           "Votre remboursement sera effectué sous cinq jours ouvrés.",
           "Pouvez-vous nous envoyer une photo du produit ?"],
    "en": ["Hello, I ordered {order} ten days ago.",
           "The parcel arrived damaged and the {product} does not work.",
           "I would like a refund or an exchange.", "Could you tell me where my claim stands?",
           "The invoice does not match what I paid.", "Thanks for your quick answer.",
           "My parcel never arrived.", "We passed your request on to the carrier.",
           "Your refund will be made within five working days.",
           "Could you send us a photo of the product?"],
}
TAGS = ["vip", "refund", "carrier", "warranty", "invoice"]


# --- the fixture ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Desk:
    agent_ids: list[int]
    queue_ids: list[int]
    order: str  # an order number some message mentions
    product: str  # a product name about 1 message in 200 mentions


def load(app: Flask, conversations: int, rng: random.Random) -> Desk:
    """The desk's rows, bulk-inserted with Core in batches, then ANALYZE."""
    with app.app_context(), db.engine.begin() as connection:
        agent_ids = _staff(connection)
        queue_ids = _queues(connection)
        customer_ids = _customers(connection)
        _conversations(connection, conversations, agent_ids, queue_ids, customer_ids, rng)
        connection.execute(text("ANALYZE"))
        order = connection.scalar(text(
            "SELECT substring(body from 'A[0-9]{6}') FROM messages "
            "WHERE body ~ 'A[0-9]{6}' LIMIT 1"))
    return Desk(agent_ids, queue_ids, order, PRODUCTS[7])


def _staff(connection: Connection) -> list[int]:
    password = generate_password_hash(PASSWORD)
    rows = [{"email": f"agent{n}@bench.example", "name": f"Agent {n}", "role": Role.AGENT,
             "password_hash": password} for n in range(AGENTS)]
    return list(connection.scalars(insert(User).returning(User.id), rows))


def _queues(connection: Connection) -> list[int]:
    rows = [{"name": f"Queue {n}", "channels": ["email", "chat"]} for n in range(QUEUES)]
    return list(connection.scalars(insert(Queue).returning(Queue.id), rows))


def _customers(connection: Connection) -> list[int]:
    ids = list(connection.scalars(insert(Customer).returning(Customer.id),
                                  [{"name": f"Client {n}"} for n in range(CUSTOMERS)]))
    connection.execute(insert(Identity), [{"customer_id": i, "kind": IdentityKind.EMAIL,
                                           "value": f"client{i}@example.com"} for i in ids])
    return ids


def _conversations(connection: Connection, count: int, agent_ids: list[int],
                   queue_ids: list[int], customer_ids: list[int], rng: random.Random) -> None:
    now = datetime.now(UTC)
    made = (_conversation(n, agent_ids, queue_ids, customer_ids, now, rng)
            for n in range(count))
    while batch := list(islice(made, BATCH)):
        rows = [row for row, _messages, _tags in batch]
        ids = list(connection.scalars(insert(Conversation).returning(Conversation.id), rows))
        messages = [m | {"conversation_id": i}
                    for i, (_row, thread, _tags) in zip(ids, batch, strict=True) for m in thread]
        connection.execute(insert(Message), messages)
        tags = [{"conversation_id": i, "name": t}
                for i, (_row, _thread, names) in zip(ids, batch, strict=True) for t in names]
        if tags:
            connection.execute(insert(ConversationTag), tags)


def _conversation(n: int, agent_ids: list[int], queue_ids: list[int], customer_ids: list[int],
                  now: datetime, rng: random.Random) -> tuple[dict, list[dict], list[str]]:
    language = "fr" if rng.random() < 0.5 else "en"
    words = {"order": f"A{rng.randrange(10**6):06d}", "product": rng.choice(PRODUCTS)}
    status = _pick(STATUS_MIX, rng)
    created = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
    assignee = rng.choice(agent_ids) if status not in ACTIVE or rng.random() < 0.6 else None
    thread = _thread(language, words, assignee, created, rng)
    last = thread[-1]["created_at"]
    row = {"customer_id": rng.choice(customer_ids), "channel": _pick(CHANNEL_MIX, rng),
           "subject": rng.choice(SUBJECTS[language]).format(**words), "status": status,
           "priority": _pick(PRIORITY_MIX, rng),
           "owner": Owner.AGENT if assignee else Owner.QUEUE,
           "queue_id": rng.choice(queue_ids), "assignee_id": assignee,
           "last_seq": len(thread), "created_at": created, "updated_at": last,
           "last_message_at": last, "first_response_at": thread[1]["created_at"],
           "solved_at": last if status in (S.SOLVED, S.CLOSED) else None,
           "closed_at": last if status == S.CLOSED else None}
    return row, thread, rng.sample(TAGS, 1) if n % 10 == 0 else []


def _thread(language: str, words: dict[str, str], agent_id: int | None, start: datetime,
            rng: random.Random) -> list[dict[str, Any]]:
    """Customer and agent in turns, a few hours apart."""
    messages = []
    for seq in range(1, rng.randint(*MESSAGES_PER_CONVERSATION) + 1):
        customer = seq % 2 == 1
        body = " ".join(rng.sample(SENTENCES[language], rng.randint(2, 4))).format(**words)
        messages.append({"seq": seq,
                         "author_kind": AuthorKind.CUSTOMER if customer else AuthorKind.AGENT,
                         "author_id": None if customer else agent_id, "body": body,
                         "channel": Channel.EMAIL, "internal": False, "meta": {},
                         "created_at": start + timedelta(hours=3 * (seq - 1))})
    return messages


def _pick(mix: list[tuple[Any, int]], rng: random.Random) -> Any:
    return rng.choices([value for value, _ in mix], [weight for _, weight in mix])[0]


# --- the measures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    name: str
    seconds: list[float]
    total: int  # conversations matching

    @property
    def p50(self) -> float:
        return percentile(self.seconds, 50)

    @property
    def p95(self) -> float:
        return percentile(self.seconds, 95)


def timed(action: Callable[[], int], repeat: int) -> tuple[list[float], int]:
    for _ in range(WARM_UP):
        total = action()
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        total = action()
        seconds.append(time.perf_counter() - start)
    return seconds, total


def list_cases(desk: Desk) -> Iterator[tuple[str, ConversationFilter, Sort | None, int]]:
    """(name, filters, sort, page) of the lists an agent opens, and of searches."""
    me, queue = desk.agent_ids[0], desk.queue_ids[0]
    yield "Mine (active)", ConversationFilter(statuses=ACTIVE, assignee_id=me), None, 1
    yield "A queue, unassigned (active)", ConversationFilter(
        statuses=ACTIVE, queue_id=queue, unassigned=True), None, 1
    yield "All (active)", ConversationFilter(statuses=ACTIVE), None, 1
    yield "All (active), page 40", ConversationFilter(statuses=ACTIVE), None, 40
    yield "All statuses, oldest first", ConversationFilter(), Sort.OLDEST, 1
    yield "All, tag vip", ConversationFilter(tag="vip"), None, 1
    for label, query in (("a product (rare)", desk.product), ("an order number", desk.order),
                         ("a common word", "commande"), ("two words", "remboursement colis"),
                         ("a phrase", '"never arrived"'), ("accents folded", "reclamation"),
                         ("a word, another excluded", "refund -invoice"),
                         ("either word", "parcel or colis")):
        yield f"Search {label}: {query}", ConversationFilter(search=query), None, 1
    yield f"Search in a queue (active): {desk.product}", ConversationFilter(
        statuses=ACTIVE, queue_id=queue, search=desk.product), None, 1


def measure_lists(app: Flask, desk: Desk, repeat: int) -> list[Measure]:
    measures = []
    with app.app_context():
        for name, filters, sort, page in list_cases(desk):
            def run(f: ConversationFilter = filters, s: Sort | None = sort, p: int = page) -> int:
                result = list_conversations(db.session, f, sort=s, page=p, per_page=25)
                db.session.rollback()  # each request its own transaction, as in the app
                return result.total
            seconds, total = timed(run, repeat)
            measures.append(Measure(name, seconds, total))
    return measures


def measure_pages(app: Flask, desk: Desk, repeat: int) -> list[Measure]:
    client = app.test_client()
    log_in(client, "agent0@bench.example")
    pages = [("Inbox page: mine", {}), ("Inbox page: all (active)", {"view": "all"}),
             ("Inbox page: search in all", {"view": "all", "status": "any",
                                            "q": "remboursement colis"})]
    measures = []
    for name, args in pages:
        def get(query: dict[str, str] = args) -> int:
            response = client.get("/conversations", query_string=query)
            assert response.status_code == 200, response.status_code
            return int(re.search(r"(\d+) conversations?<", response.get_data(as_text=True))
                       .group(1))
        seconds, total = timed(get, repeat)
        measures.append(Measure(name, seconds, total))
    return measures


def log_in(client: FlaskClient, email: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, "the benchmark agent could not log in"


# --- the report -----------------------------------------------------------------------------


def report(measures: list[Measure], conversations: int, messages: int, load_seconds: float,
           repeat: int, load_average: float) -> str:
    rows = "\n".join(f"| {m.name} | {m.total:,} | {m.p50 * 1000:.1f} ms | "
                     f"{m.p95 * 1000:.1f} ms | {max(m.seconds) * 1000:.1f} ms |"
                     for m in measures)
    return f"""## Agent conversation list at {conversations:,} conversations (PostgreSQL)

- Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}
- Machine: {len(os.sched_getaffinity(0))}-core {cpu_model()}; load average at start
  {load_average:.2f}; PostgreSQL on the same machine
- Command: `{command_line(MODULE)}`
- Fixture: {conversations:,} conversations ({messages:,} messages, French and English) of
  {CUSTOMERS:,} customers in {QUEUES} queues, {AGENTS} agents, bulk-loaded in
  {load_seconds:.0f} s (the search index built as rows went in), then `ANALYZE`
- Each line: {repeat} runs after {WARM_UP} warm-up runs, one at a time; a list is the page
  of 25 and its total; searches use the inbox's default order (best match first)

| Query | Matching | p50 | p95 | max |
|---|---:|---:|---:|---:|
{rows}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    load_average = os.getloadavg()[0]
    with scratch_folder() as folder, fresh_database("postgres", folder) as url, migrated_app(
            {"database_url": url, "instance_path": str(folder / "instance"),
             "secret_key": "benchmark", "log_level": "WARNING"}) as app:
        start = time.perf_counter()
        desk = load(app, args.conversations, random.Random(7))  # noqa: S311 (test data)
        load_seconds = time.perf_counter() - start
        with app.app_context():
            messages = db.session.scalar(select(func.count()).select_from(Message))
        measures = measure_lists(app, desk, args.repeat) + measure_pages(app, desk,
                                                                         args.repeat)
    markdown = report(measures, args.conversations, messages, load_seconds, args.repeat,
                      load_average)
    print(markdown)
    if args.write:
        write_section(SECTION, markdown)


if __name__ == "__main__":
    main()
