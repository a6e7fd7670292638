"""The ``comptoir`` command: a Flask CLI group (``flask --app helpdesk`` works too)."""

from __future__ import annotations

import click
from alembic import command
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from helpdesk import migrate
from helpdesk.extensions import db, socketio


def register_commands(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(serve)
    from helpdesk.cli_admin import register_admin_commands

    register_admin_commands(app)


@click.group("db", help="Database schema (Alembic migrations).")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    migrate.upgrade(db.engine, revision)
    click.echo(f"database at revision {migrate.current_revision(db.engine)}")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. -1, or base)."""
    migrate.downgrade(db.engine, revision)
    click.echo(f"database at revision {migrate.current_revision(db.engine)}")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the database's revision and the code's."""
    click.echo(f"database: {migrate.current_revision(db.engine)}")
    click.echo(f"code:     {migrate.head_revision(db.engine)}")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    command.revision(migrate.alembic_config(db.engine), message=message, autogenerate=True)


@click.command("run")
@click.option("--host", default=None, help="Default: COMPTOIR_HOST.")
@click.option("--port", type=int, default=None, help="Default: COMPTOIR_PORT.")
@click.option("--debug/--no-debug", default=False)
@with_appcontext
def serve(host: str | None, port: int | None, debug: bool) -> None:
    """Serve the app and its Socket.IO endpoint (refuses an unmigrated database)."""
    settings = current_app.config["COMPTOIR"]
    try:
        migrate.check_schema(db.engine)
    except migrate.DatabaseNotMigrated as exc:
        raise click.ClickException(str(exc)) from None
    host, port = host or settings.host, port or settings.port
    click.echo(f"Comptoir is serving on http://{host}:{port}/ (Ctrl+C stops it)")
    socketio.run(current_app._get_current_object(), host=host, port=port, debug=debug,
                 use_reloader=False, allow_unsafe_werkzeug=True)


def _create_app() -> Flask:
    from helpdesk import create_app

    return create_app()


main = FlaskGroup(name="comptoir", create_app=_create_app, add_default_commands=False,
                  add_version_option=False, help="Comptoir customer-support platform.")
