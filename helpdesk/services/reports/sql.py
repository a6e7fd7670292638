"""SQL the reports need that SQLite and PostgreSQL spell differently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float

QUARTER_HOUR = 900  # seconds: every time zone's offset is a multiple of it


class time_bucket(FunctionElement[int]):
    """``floor(seconds since 1970 / width)`` of a UTC timestamp: rows grouped by it in SQL
    are then told apart by local day or hour in Python, exactly in any time zone when
    ``width`` is a quarter of an hour."""

    type = Integer()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], width: int = QUARTER_HOUR) -> None:
        self.width = int(width)
        super().__init__(column)


@compiles(time_bucket, "sqlite")
def _bucket_sqlite(element: time_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    # strftime('%s') is whole seconds since 1970; integer division floors them.
    column = compiler.process(element.clauses, **kw)
    return f"(CAST(strftime('%s', {column}) AS INTEGER) / {element.width})"


@compiles(time_bucket, "postgresql")
def _bucket_postgresql(element: time_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"CAST(floor(EXTRACT(EPOCH FROM {column}) / {element.width}) AS INTEGER)"


class epoch(FunctionElement[float]):
    """Seconds since 1970 of a UTC timestamp, as a number: the reports read many instants,
    and numbers cost far less than datetimes to fetch and subtract."""

    type = Float()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # Whole seconds, plus the fraction: '%f' is SS.SSS (milliseconds, as SQLite keeps them).
    column = compiler.process(element.clauses, **kw)
    return (f"(CAST(strftime('%s', {column}) AS INTEGER) + CAST(strftime('%f', {column}) "
            f"AS REAL) - CAST(strftime('%S', {column}) AS INTEGER))")


@compiles(epoch, "postgresql")
def _epoch_postgresql(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)"


def seconds_between(start: ColumnElement[Any], end: ColumnElement[Any]) -> ColumnElement[float]:
    """The seconds from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    return epoch(end) - epoch(start)


class plus_seconds(FunctionElement[Any]):
    """A timestamp ``seconds`` later (whole seconds; SQLite's result keeps milliseconds, so
    compare it with some slack where the exact boundary matters)."""

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], seconds: int) -> None:
        self.seconds = int(seconds)
        self.type = column.type
        super().__init__(column)


@compiles(plus_seconds, "sqlite")
def _plus_sqlite(element: plus_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m-%d %H:%M:%f', {column}, '+{element.seconds} seconds')"


@compiles(plus_seconds, "postgresql")
def _plus_postgresql(element: plus_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"({column} + INTERVAL '{element.seconds} seconds')"
