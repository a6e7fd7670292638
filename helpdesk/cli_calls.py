"""``comptoir calls``: the call simulator (a small PBX posting to the CTI webhook)."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import click
import requests
from flask import current_app
from sqlalchemy import select

from helpdesk import call_simulator, migrate
from helpdesk.call_simulator import Cast
from helpdesk.cli import base_url, with_app
from helpdesk.extensions import db
from helpdesk.models import Channel, Queue, QueueMembership, Role, User

SCOPE_HELP = ("an API token with the calls:ingest scope (an admin's: `comptoir users token "
              "USER_ID --scope calls:ingest`)")


@click.group("calls", help="Phone calls: simulate a PBX posting call events.")
def calls_group() -> None:
    """Call commands."""


@calls_group.command("simulate")
@click.option("--rate", type=click.FloatRange(min=0.1), default=6.0, show_default=True,
              help="Calls started per minute.")
@click.option("--minutes", type=click.FloatRange(min=0.1), default=1.0, show_default=True,
              help="For how long calls start (the calls in progress then still end).")
@click.option("--url", default=None, help="Comptoir's address (default: where `comptoir run` "
              "serves).")
@click.option("--token", required=True, help=f"The PBX's token: {SCOPE_HELP}.")
@click.option("--queue", "queues", multiple=True, help="A queue the calls go to (repeat); "
              "default: the queues serving phone, else all.")
@click.option("--agent", "agents", multiple=True, help="An agent's email who answers (repeat); "
              "default: those queues' members.")
@click.option("--speed", type=click.FloatRange(min=0.1), default=1.0, show_default=True,
              help="Run the calls this many times faster than life.")
@click.option("--seed", type=int, default=None, help="Repeat a run's calls exactly.")
@with_app
def simulate(rate: float, minutes: float, url: str | None, token: str, queues: tuple[str, ...],
             agents: tuple[str, ...], speed: float, seed: int | None) -> None:
    """Post realistic call events (answered, abandoned, voicemail, transferred; a few sent
    twice or out of order) to POST /api/v1/calls/events."""
    cast = _cast(list(queues), list(agents))
    rng = random.Random(seed)  # noqa: S311 -- made-up calls, not secrets
    postings = call_simulator.plan(rng, cast, rate=rate, minutes=minutes,
                                   start=datetime.now(UTC), speed=speed)
    settings = current_app.config["COMPTOIR"]
    sender = call_simulator.Sender(url or base_url(), token, settings.calls_signing_secret)
    click.echo(f"{len(postings)} events planned, to {sender.url} "
               f"(queues: {', '.join(cast.queues) or 'none'}; "
               f"agents: {', '.join(cast.agents) or 'none'})")
    started = time.monotonic()
    try:
        tally = call_simulator.run(postings, sender,
                                   on_refusal=lambda line: click.echo(line, err=True))
    except requests.RequestException as exc:
        raise click.ClickException(f"cannot post to {sender.url}: {exc}") from None
    click.echo(tally.summary(time.monotonic() - started))
    if tally.refusals:
        raise SystemExit(1)


def _cast(queues: list[str], agents: list[str]) -> Cast:
    """The given queues and agents; the missing ones from this instance's database."""
    if queues and agents:
        return Cast(queues, agents)
    migrate.check_schema(db.engine)
    chosen = queues or _phone_queues()
    return Cast(chosen, agents or _members(chosen))


def _phone_queues() -> list[str]:
    every = list(db.session.scalars(select(Queue).order_by(Queue.name)))
    phone = [q.name for q in every if Channel.PHONE.value in q.channels]
    return phone or [q.name for q in every]


def _members(queue_names: list[str]) -> list[str]:
    return list(db.session.scalars(
        select(User.email).distinct().join(QueueMembership, QueueMembership.user_id == User.id)
        .join(Queue, Queue.id == QueueMembership.queue_id)
        .where(Queue.name.in_(queue_names), User.active,
               User.role != Role.KNOWLEDGE_MANAGER).order_by(User.email)))
