"""Alembic, driven from the app: upgrade, and refuse to serve an unmigrated database."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from sqlalchemy.engine import Engine

from helpdesk.errors_http import error_response
from helpdesk.extensions import db

if TYPE_CHECKING:
    from knowledge_base.search.embedder import Embedder

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class DatabaseNotMigrated(RuntimeError):
    """The database schema is behind the code."""


def init_app(app: Flask) -> None:
    app.extensions["comptoir.schema_checked"] = False
    app.before_request(_refuse_unmigrated)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


@contextmanager
def migrated_app(config: Mapping[str, Any],
                 embedder_factory: Callable[[], Embedder] | None = None) -> Iterator[Flask]:
    """A throw-away app (evaluation, benchmarks) on a database upgraded to the latest
    schema first; its connection pool is disposed on the way out."""
    from helpdesk import create_app  # helpdesk's factory imports this module

    app = create_app(config, embedder_factory=embedder_factory)
    with app.app_context():
        upgrade(db.engine)
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def check_schema(engine: Engine) -> None:
    """Raise DatabaseNotMigrated with the command that fixes it."""
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        raise DatabaseNotMigrated(
            f"the database at {engine.url.render_as_string(hide_password=True)} is at "
            f"revision {current or 'none (empty)'}, the code needs {head}: "
            "run `comptoir db upgrade` first")


def _refuse_unmigrated() -> object:
    if current_app.extensions["comptoir.schema_checked"]:
        return None
    try:
        check_schema(db.engine)
    except DatabaseNotMigrated as exc:
        return error_response(503, "database_not_migrated", str(exc))
    current_app.extensions["comptoir.schema_checked"] = True
    return None
