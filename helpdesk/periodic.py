"""Periodic work for ``comptoir worker``: modules register jobs in their ``init_app``.

``periodic(app, name, every, job)``: the worker calls ``job(now)`` in an app context at its
first tick, then every ``every`` seconds (at the tick after they pass). A job that fails is
logged and tried again at its next turn; it never stops the worker. Several workers may
run, so a job must be safe to run twice at once (row locks, unique keys).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask

EXTENSION = "comptoir.periodic"


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: float  # seconds
    run: Callable[[datetime], None]


def periodic(app: Flask, name: str, every: float, job: Callable[[datetime], None]) -> None:
    """Have the worker run ``job(now)`` every ``every`` seconds (``name`` shows in its log)."""
    if every <= 0:
        raise ValueError(f"periodic job {name!r}: every must be positive, got {every}")
    app.extensions.setdefault(EXTENSION, []).append(PeriodicJob(name, every, job))


def periodic_jobs(app: Flask) -> list[PeriodicJob]:
    """The app's registered jobs, in registration order."""
    return list(app.extensions.get(EXTENSION, []))
