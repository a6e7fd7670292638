"""The ``comptoir`` command: a Flask CLI group (``flask --app helpdesk`` works too)."""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable
from typing import TypeVar

import click
from alembic import command
from alembic.util import CommandError
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.exc import OperationalError

from helpdesk import migrate
from helpdesk.errors import DomainError
from helpdesk.extensions import db, socketio

F = TypeVar("F", bound=Callable[..., object])


def register_commands(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(serve)
    from helpdesk.cli_admin import register_admin_commands

    register_admin_commands(app)
    from helpdesk.cli_email import email_group, mailbox_group, worker_command

    for email_command in (email_group, mailbox_group, worker_command):
        app.cli.add_command(email_command)
    from helpdesk.cli_calls import calls_group

    app.cli.add_command(calls_group)
    from bot.cli import bot_group, rasa_group

    for bot_command in (bot_group, rasa_group):
        app.cli.add_command(bot_command)


def with_app(command: F) -> F:
    """Run in the app context; domain, schema and database errors become one-line errors."""
    @functools.wraps(command)
    def run(*args: object, **kwargs: object) -> object:
        try:
            return command(*args, **kwargs)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        except (migrate.DatabaseNotMigrated, CommandError) as exc:
            raise click.ClickException(str(exc)) from None
        except OperationalError as exc:
            url = db.engine.url.render_as_string(hide_password=True)
            raise click.ClickException(f"cannot use the database at {url}: {exc.orig}") from None
    return with_appcontext(run)  # type: ignore[return-value]


@click.group("db", help="Database schema (Alembic migrations).")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_app
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    migrate.upgrade(db.engine, revision)
    click.echo(f"database at revision {migrate.current_revision(db.engine)}")


@db_group.command("downgrade")
@click.argument("revision")
@with_app
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. -1, or base)."""
    migrate.downgrade(db.engine, revision)
    click.echo(f"database at revision {migrate.current_revision(db.engine)}")


@db_group.command("current")
@with_app
def db_current() -> None:
    """Show the database's revision and the code's."""
    click.echo(f"database: {migrate.current_revision(db.engine)}")
    click.echo(f"code:     {migrate.head_revision(db.engine)}")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@with_app
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    command.revision(migrate.alembic_config(db.engine), message=message, autogenerate=True)


@click.command("run")
@click.option("--host", default=None, help="Default: COMPTOIR_HOST.")
@click.option("--port", type=int, default=None, help="Default: COMPTOIR_PORT.")
@click.option("--debug/--no-debug", default=False)
@with_app
def serve(host: str | None, port: int | None, debug: bool) -> None:
    """Serve the app and its Socket.IO endpoint (refuses an unmigrated database)."""
    settings = current_app.config["COMPTOIR"]
    migrate.check_schema(db.engine)
    host, port = host or settings.host, port or settings.port
    click.echo(f"Comptoir is serving on http://{host}:{port}/ (Ctrl+C stops it)")
    click.echo(f"Log in at {login_url(host, port)}: the demo logins were printed by "
               "`comptoir demo load`; reset one with `comptoir users set-password EMAIL`.")
    # Flask's CLI sets this so that a stray app.run() does not block a command; this command
    # is meant to serve, and Socket.IO's dev server goes through app.run().
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    socketio.run(current_app._get_current_object(), host=host, port=port, debug=debug,
                 use_reloader=False, allow_unsafe_werkzeug=True)


def login_url(host: str | None = None, port: int | None = None) -> str:
    """The agent login page of ``comptoir run`` (its configured host and port by default)."""
    return f"{base_url(host, port)}/login"


def base_url(host: str | None = None, port: int | None = None) -> str:
    """Where ``comptoir run`` serves (its configured host and port by default)."""
    settings = current_app.config["COMPTOIR"]
    return f"http://{host or settings.host}:{port or settings.port}"


def _create_app() -> Flask:
    from helpdesk import create_app

    app = create_app()
    gc.freeze()  # what start-up made lives as long as the process (see helpdesk.launcher)
    gc.enable()
    return app


main = FlaskGroup(name="comptoir", create_app=_create_app, add_default_commands=False,
                  add_version_option=False, help="Comptoir customer-support platform.")
