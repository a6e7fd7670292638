"""Pure arithmetic of the reports: percentiles, and business time counted fast over a range.

Instants are numbers here (seconds since 1970, UTC): a report reads many of them, and arrays of
numbers are computed on in one go.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from helpdesk.sla_clock import BusinessHours

Seconds = npt.NDArray[np.float64]


def percentile(values: Sequence[float] | Seconds, q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation between the two nearest
    ranks (PostgreSQL's ``percentile_cont``); None without values."""
    if len(values) == 0:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def share(part: int, whole: int) -> float | None:
    """``part`` in % of ``whole``, to one decimal; None when ``whole`` is 0."""
    return round(100 * part / whole, 1) if whole else None


class BusinessTimeIndex:
    """A calendar's opening periods from ``first`` to ``last`` with their running total, so
    the business time between two instants of that span costs two binary searches instead
    of a walk through the days (``BusinessHours.between`` counts the same)."""

    def __init__(self, hours: BusinessHours, first: datetime, last: datetime) -> None:
        day, end = _local_day(hours, first) - timedelta(days=1), _local_day(hours, last)
        periods: list[tuple[datetime, datetime]] = []
        while day <= end + timedelta(days=1):
            periods += hours.periods_on(day)
            day += timedelta(days=1)
        self._opens = np.array([o.timestamp() for o, _ in periods], dtype=np.float64)
        self._closes = np.array([c.timestamp() for _, c in periods], dtype=np.float64)
        self._before = np.concatenate(([0.0], np.cumsum(self._closes - self._opens)))

    def seconds(self, starts: Seconds, ends: Seconds) -> Seconds:
        """Business seconds from each start to its end (instants inside the span indexed)."""
        return self._counted_until(ends) - self._counted_until(starts)

    def _counted_until(self, moments: Seconds) -> Seconds:
        """Business seconds from the first indexed period to each moment."""
        after = np.searchsorted(self._opens, moments, side="right")
        last = np.maximum(after - 1, 0)
        inside = np.clip(np.minimum(moments, self._closes[last]) - self._opens[last], 0, None)
        return np.where(after > 0, self._before[last] + inside, 0.0)


def _local_day(hours: BusinessHours, moment: datetime) -> date:
    return moment.astimezone(UTC).astimezone(hours.zone).date()
