"""What every report returns: named tables of rows, each number able to name the
conversations behind it (a ``DrillRef``), and what a drill-down lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from helpdesk.errors import ValidationFailed
from helpdesk.models import Queue, User
from helpdesk.services.reports.scope import ReportFilter

ALL = "all"  # the key of a row that covers everything the filters keep
NONE = "none"  # the key of a row without a queue, an agent...


@dataclass(frozen=True)
class DrillRef:
    """Where the conversations behind a number are listed: ``metric`` and ``key`` of the
    report's drill-down."""

    metric: str
    key: str


@dataclass(frozen=True)
class Row:
    cells: dict[str, Any]
    drills: dict[str, DrillRef] = field(default_factory=dict)  # column -> its drill-down


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: list[Row]

    def records(self) -> list[dict[str, Any]]:
        """The rows as plain values, in column order (CSV)."""
        return [{column: row.cells.get(column) for column in self.columns}
                for row in self.rows]


@dataclass(frozen=True)
class Report:
    name: str
    filters: ReportFilter
    tables: list[Table]

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


@dataclass(frozen=True)
class Drill:
    """The conversations behind one number, in order, each with its values (its time to
    first response...), and which timeline events of theirs show why it was counted."""

    rows: list[tuple[int, dict[str, Any]]]
    event_types: tuple[str, ...]
    event_where: tuple[ColumnElement[bool], ...] = ()


def key_number(key: str, high: int = 2**31 - 1) -> int:
    """A drill-down key that is a number (an id, an hour) from 0 to ``high``."""
    if not key.isdigit() or int(key) > high:
        raise ValidationFailed(f"{key!r} is not a number from 0 to {high}", field="key")
    return int(key)


def key_day(key: str, f: ReportFilter) -> date:
    """A drill-down key that is one of the report's days (YYYY-MM-DD)."""
    try:
        day = date.fromisoformat(key)
    except ValueError:
        raise ValidationFailed(f"{key!r} is not a date such as 2026-01-31", field="key") from None
    if not f.start <= day <= f.end:
        raise ValidationFailed(f"{key} is not within the report's days", field="key")
    return day


def next_day(day: date) -> date:
    return day + timedelta(days=1)


def queue_names(session: Session) -> dict[str, str]:
    """Queue names by id (as row keys are written)."""
    return {str(i): name for i, name in session.execute(select(Queue.id, Queue.name))}


def user_names(session: Session) -> dict[str, str]:
    """Staff names by id (as row keys are written)."""
    return {str(i): name for i, name in session.execute(select(User.id, User.name))}


def dimension_table(name: str, dimension: str, groups: list[tuple[str, dict[str, Any]]],
                    drill_column: str, names: dict[str, str] | None = None) -> Table:
    """A table of figures per value of ``dimension`` (with its name when ``names`` is
    given), each row's ``drill_column`` drilling down to ``(dimension, value)``."""
    named = (f"{dimension}_name",) if names is not None else ()
    figures = tuple(groups[0][1]) if groups else (drill_column,)
    rows = [Row({dimension: key, **{c: (names or {}).get(key, "") for c in named}, **cells},
                {drill_column: DrillRef(dimension, key)}) for key, cells in groups]
    return Table(name, (dimension, *named, *figures), rows)
