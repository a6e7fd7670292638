"""Administration commands: staff users and API tokens."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from helpdesk.auth.policy import Permission
from helpdesk.errors import DomainError
from helpdesk.events import SYSTEM
from helpdesk.extensions import unit_of_work
from helpdesk.models import Role
from helpdesk.services import staff


def register_admin_commands(app: Flask) -> None:
    app.cli.add_command(users_group)


@click.group("users", help="Staff accounts and their API tokens.")
def users_group() -> None:
    """Staff account commands."""


@users_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name (default: the email).")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.AGENT.value,
              show_default=True)
@click.password_option(help="At least 10 characters; asked when omitted.")
@with_appcontext
def users_create(email: str, name: str, role: str, password: str) -> None:
    """Create a staff user."""
    try:
        with unit_of_work() as uow:
            user = staff.create_user(uow, SYSTEM, email=email, name=name, role=Role(role),
                                     password=password)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created {user.role.value} {user.email} (id {user.id})")


@users_group.command("token")
@click.argument("user_id", type=int)
@click.option("--name", default="cli", show_default=True)
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice([p.value for p in Permission]),
              help="Repeat for each permission the token may use.")
@with_appcontext
def users_token(user_id: int, name: str, scopes: tuple[str, ...]) -> None:
    """Issue a personal API token (printed once, stored hashed)."""
    try:
        with unit_of_work() as uow:
            _token, secret = staff.issue_token(uow, SYSTEM, user_id, name=name,
                                               scopes=list(scopes))
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(secret)
