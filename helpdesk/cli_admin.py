"""Administration commands: staff users and their API tokens, queues, sites, the demo."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TypeVar

import click
from flask import Flask
from sqlalchemy import select

from helpdesk import demo, migrate
from helpdesk.auth.policy import Permission
from helpdesk.cli import base_url, login_url, with_app
from helpdesk.demo.knowledge import load_demo_articles
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Queue, Role, Site
from helpdesk.models.site import PRECHAT_FIELDS
from helpdesk.services import queries, sites, staff

F = TypeVar("F", bound=Callable[..., object])


def register_admin_commands(app: Flask) -> None:
    for group in (users_group, queues_group, sites_group, demo_group):
        app.cli.add_command(group)


def with_database(command: F) -> F:
    """Like ``with_app``, on a migrated database only."""
    @functools.wraps(command)
    def run(*args: object, **kwargs: object) -> object:
        migrate.check_schema(db.engine)
        return command(*args, **kwargs)
    return with_app(run)  # type: ignore[return-value]


@click.group("users", help="Staff accounts and their API tokens.")
def users_group() -> None:
    """Staff account commands."""


@users_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name (default: the email).")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.AGENT.value,
              show_default=True)
@click.password_option(help="At least 10 characters; asked when omitted.")
@with_database
def users_create(email: str, name: str, role: str, password: str) -> None:
    """Create a staff user."""
    with unit_of_work() as uow:
        user = staff.create_user(uow, SYSTEM, email=email, name=name, role=Role(role),
                                 password=password)
    click.echo(f"created {user.role.value} {user.email} (id {user.id})")


@users_group.command("list")
@with_database
def users_list() -> None:
    """List staff accounts: id, email, role, name, state."""
    rows = [(str(u.id), u.email, u.role.value, u.name, "active" if u.active else "deactivated")
            for u in queries.all_staff(db.session)]
    echo_table(("ID", "EMAIL", "ROLE", "NAME", "STATE"), rows)


@users_group.command("set-password")
@click.argument("email")
@click.password_option(help="At least 10 characters; asked when omitted.")
@with_database
def users_set_password(email: str, password: str) -> None:
    """Set a new password for the staff account EMAIL (e.g. a demo login)."""
    with unit_of_work() as uow:
        user = queries.staff_by_email(uow.session, email)
        staff.update_user(uow, SYSTEM, user.id, password=password)
    click.echo(f"password changed for {user.email}; log in at {login_url()}")


@users_group.command("token")
@click.argument("user_id", type=int)
@click.option("--name", default="cli", show_default=True)
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice([p.value for p in Permission]),
              help="Repeat for each permission the token may use.")
@with_database
def users_token(user_id: int, name: str, scopes: tuple[str, ...]) -> None:
    """Issue a personal API token (printed once, stored hashed)."""
    with unit_of_work() as uow:
        _token, secret = staff.issue_token(uow, SYSTEM, user_id, name=name, scopes=list(scopes))
    click.echo(secret)


@click.group("queues", help="Queues: channels, routing and members.")
def queues_group() -> None:
    """Queue commands."""


@queues_group.command("list")
@with_database
def queues_list() -> None:
    """List queues: id, name, channels, routing strategy, member ids."""
    rows = [(str(q.id), q.name, ",".join(q.channels), q.routing_strategy.value,
             ",".join(map(str, q.member_ids)) or "-") for q in queries.all_queues(db.session)]
    echo_table(("ID", "NAME", "CHANNELS", "ROUTING", "MEMBERS"), rows)


@click.group("sites", help="Websites that embed the chat widget.")
def sites_group() -> None:
    """Site commands."""


@sites_group.command("create")
@click.argument("name")
@click.option("--queue", "queue_name", help="Queue that receives the site's chats.")
@click.option("--language", default="en", show_default=True)
@click.option("--origin", "origins", multiple=True,
              help="Allowed page origin, e.g. https://shop.example (repeatable; none: any).")
@click.option("--prechat", multiple=True, type=click.Choice(PRECHAT_FIELDS),
              help="Ask this before the chat starts (repeatable).")
@click.option("--no-bot", is_flag=True, help="Chats go straight to people.")
@with_database
def sites_create(name: str, queue_name: str | None, language: str, origins: tuple[str, ...],
                 prechat: tuple[str, ...], no_bot: bool) -> None:
    """Create a site; prints its key (for the snippet) and its secret (for user hashes)."""
    with unit_of_work() as uow:
        site = sites.create_site(uow, SYSTEM, name=name, queue_id=_queue_id(queue_name),
                                 language=language, allowed_origins=origins,
                                 prechat=prechat, bot_enabled=not no_bot)
    click.echo(f"site {site.id}: key {site.key}\nsecret (keep it on your server): "
               f"{site.secret}\nsnippet: <script src=\"{base_url()}/widget.js\" "
               f"data-site=\"{site.key}\" async></script>")


@sites_group.command("list")
@with_database
def sites_list() -> None:
    """List sites: id, key, name, queue, assistant on or off, allowed origins."""
    rows = [(str(s.id), s.key, s.name, s.queue.name if s.queue else "-",
             "on" if s.bot_enabled else "off", ",".join(s.allowed_origins) or "any")
            for s in db.session.scalars(select(Site).order_by(Site.id))]
    echo_table(("ID", "KEY", "NAME", "QUEUE", "ASSISTANT", "ORIGINS"), rows)


@sites_group.command("rotate-secret")
@click.argument("site_id", type=int)
@with_database
def sites_rotate_secret(site_id: int) -> None:
    """Replace a site's secret; user hashes signed with the old one stop verifying."""
    with unit_of_work() as uow:
        click.echo(sites.rotate_secret(uow, SYSTEM, site_id).secret)


def _queue_id(name: str | None) -> int | None:
    if name is None:
        return None
    queue = db.session.scalar(select(Queue).where(Queue.name == name))
    if queue is None:
        raise click.BadParameter(f"no queue named {name!r} (see `comptoir queues list`)",
                                 param_hint="--queue")
    return queue.id


@click.group("demo", help="The Maison Lumière demo data.")
def demo_group() -> None:
    """Demo commands."""


@demo_group.command("load")
@click.option("--once", is_flag=True,
              help="When the demo is already loaded, say so and succeed (for `make run`).")
@with_database
def demo_load(once: bool) -> None:
    """Create a demo brand: queues, staff of each role, customers and weeks of history."""
    try:
        with unit_of_work() as uow:
            summary = demo.load_demo(uow)
    except demo.DemoAlreadyLoaded as exc:
        if not once:
            raise
        load_demo_articles(unit_of_work)  # idempotent: completes an interrupted first load
        with unit_of_work() as uow:
            demo.ensure_demo_site(uow)
        click.echo(f"{exc.message}; nothing to do.")
        click.echo(f"Log in at {login_url()}: the logins were printed by the first "
                   "`comptoir demo load`; reset one with `comptoir users set-password EMAIL`.")
        return
    articles = load_demo_articles(unit_of_work)
    _echo_demo(summary, sum(articles.counts.values()))


def _echo_demo(summary: demo.DemoSummary, articles: int) -> None:
    click.echo(f"Loaded the {summary.brand} demo: {summary.queues} queues, "
               f"{summary.customers} customers, {summary.conversations} conversations.")
    click.echo(f"Loaded {articles} help-centre articles.\n")
    click.echo("Staff logins (the passwords are shown only this once):\n")
    echo_table(("EMAIL", "ROLE", "NAME", "PASSWORD"),
               [(x.email, x.role.value, x.name, x.password) for x in summary.logins])
    click.echo(f"\nLog in at {login_url()}; forgot a password? "
               "`comptoir users set-password EMAIL`.")


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print left-aligned columns, or a short note when there is nothing to list."""
    if not rows:
        click.echo("(none)")
        return
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    for line in (headers, *rows):
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
                   .rstrip())
