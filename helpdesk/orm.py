"""The database extension: one engine per app, a session per app context."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import JSON, DateTime, MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_pinned_now: ContextVar[datetime | None] = ContextVar("comptoir_pinned_now", default=None)


def utcnow() -> datetime:
    """The current UTC time: every model default, event and service reads it."""
    return _pinned_now.get() or datetime.now(UTC)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Make ``utcnow()`` return ``moment`` in this context (the demo writes a past history)."""
    if moment.tzinfo is None:
        raise ValueError("clock_at needs a timezone-aware datetime")
    token = _pinned_now.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _pinned_now.reset(token)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


def make_engine(url: str, *, pool_size: int = 10, pool_timeout: float = 10.0) -> Engine:
    """Create the engine; SQLite gets foreign keys and a busy timeout, servers a sized pool."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=0,
                         pool_timeout=pool_timeout)


def query_plan(session: Session, statement: Any) -> str:
    """How the database would run ``statement`` (its values inlined): EXPLAIN's text on
    PostgreSQL, EXPLAIN QUERY PLAN's details on SQLite (benchmarks and index tests)."""
    dialect = session.get_bind().dialect
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if dialect.name == "sqlite":
        rows = session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
        return "\n".join(row[-1] for row in rows)
    return "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {sql}")))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@dataclass
class DatabaseState:
    """One app's engine, session factory and app-context-scoped session."""

    engine: Engine
    session_factory: sessionmaker[Session]
    scoped: scoped_session[Session]


class Database:
    """Flask extension: each app gets its own engine; properties read the current app's."""

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        settings = app.config["COMPTOIR"]
        engine = make_engine(settings.database_url, pool_size=settings.database_pool_size,
                             pool_timeout=settings.database_pool_timeout)
        factory = sessionmaker(engine, expire_on_commit=False)
        state = DatabaseState(engine, factory, scoped_session(factory, scopefunc=_app_context_id))
        app.extensions["comptoir.db"] = state
        app.teardown_appcontext(lambda _exc: state.scoped.remove())

    @staticmethod
    def state() -> DatabaseState:
        return current_app.extensions["comptoir.db"]

    @property
    def engine(self) -> Engine:
        return self.state().engine

    @property
    def session_factory(self) -> sessionmaker[Session]:
        return self.state().session_factory

    @property
    def session(self) -> Session:
        """The session of the current app context (reads in views, templates)."""
        return self.state().scoped()


def _app_context_id() -> int:
    from flask import g

    return id(g._get_current_object())
