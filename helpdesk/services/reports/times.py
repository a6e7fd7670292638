"""Response and resolution times, in wall-clock and in business time, median and 90th
percentile: overall, per channel and per queue.

Business time is counted in the calendar the conversation's SLA clocks use (its queue's
business hours, else its queue's SLA policy's calendar); without one, every second counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import String, case, func, select, type_coerce
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import ValidationFailed
from helpdesk.models import (
    BusinessCalendar,
    Conversation,
    ConversationStatus,
    Queue,
    SlaPolicy,
    TimelineEvent,
)
from helpdesk.services.reports.scope import ReportFilter, created_in_range, fetch
from helpdesk.services.reports.sql import epoch
from helpdesk.services.reports.stats import BusinessTimeIndex, Seconds, percentile
from helpdesk.services.reports.tables import (
    ALL,
    NONE,
    Drill,
    DrillRef,
    Report,
    Row,
    Table,
    queue_names,
)
from helpdesk.sla_clock import BusinessHours

METRICS = ("first_response", "resolution")
DONE = (ConversationStatus.SOLVED, ConversationStatus.CLOSED)
COLUMNS = ("group", "group_name", "conversations", "pending", "median_seconds", "p90_seconds",
           "business_median_seconds", "business_p90_seconds")
EVENTS = {"first_response": (events.ConversationOpened.timeline_type,
                             events.MessagePosted.timeline_type),
          "resolution": (events.ConversationOpened.timeline_type,
                         events.StatusChanged.timeline_type)}


@dataclass(frozen=True)
class Timings:
    """The conversations opened in the range, as arrays: ids, channels, queues (0: none),
    and per metric the wall-clock and business seconds it took (NaN: not yet)."""

    ids: npt.NDArray[np.int64]
    channels: npt.NDArray[np.str_]
    queues: npt.NDArray[np.int64]
    wall: dict[str, Seconds]
    business: dict[str, Seconds]

    def group(self, key: str) -> npt.NDArray[np.bool_]:
        """Which conversations a group holds: all, ``channel:<channel>``, ``queue:<id>``."""
        if key == ALL:
            return np.ones(len(self.ids), dtype=bool)
        kind, _, value = key.partition(":")
        if kind == "channel":
            return self.channels == value
        if kind == "queue" and (value == NONE or value.isdigit()):
            return self.queues == (0 if value == NONE else int(value))
        raise ValidationFailed(f"{key!r} is not all, channel:<channel> or queue:<id>",
                               field="key")

    def group_keys(self) -> list[str]:
        return [ALL, *(f"channel:{c}" for c in np.unique(self.channels)),
                *(_queue_key(int(q)) for q in np.unique(self.queues))]


def _queue_key(queue_id: int) -> str:
    return f"queue:{queue_id or NONE}"


def report(session: Session, f: ReportFilter) -> Report:
    """Times to first response and to resolution of the conversations opened in the range."""
    timings, names = _timings(session, f), _group_names(session)
    return Report("response_times", f, [_table(m, timings, names) for m in METRICS])


def drill(session: Session, f: ReportFilter, metric: str, key: str) -> Drill:
    """The conversations of a group with their times, the longest first."""
    if metric not in METRICS:
        raise ValidationFailed(f"response times have no metric {metric!r}", field="metric")
    timings = _timings(session, f)
    wall, business = timings.wall[metric], timings.business[metric]
    kept = np.flatnonzero(timings.group(key) & ~np.isnan(wall))
    kept = kept[np.lexsort((timings.ids[kept], -wall[kept]))]
    return Drill([(int(timings.ids[n]), {"seconds": round(wall[n]),
                                          "business_seconds": round(business[n])})
                  for n in kept], EVENTS[metric],
                 ((TimelineEvent.type != events.MessagePosted.timeline_type)
                  | (TimelineEvent.actor_kind == "agent"),))


def _group_names(session: Session) -> dict[str, str]:
    """The name of each queue's group (a channel's is the channel)."""
    return {_queue_key(int(i)): name for i, name in queue_names(session).items()}


def _table(metric: str, timings: Timings, names: dict[str, str]) -> Table:
    return Table(metric, COLUMNS, [
        _row(metric, key, names.get(key, ""), timings.wall[metric][mask],
             timings.business[metric][mask])
        for key in timings.group_keys() for mask in [timings.group(key)]])


def _row(metric: str, group: str, name: str, wall: Seconds, business: Seconds) -> Row:
    done = ~np.isnan(wall)
    return Row({"group": group, "group_name": name, "conversations": int(done.sum()),
                "pending": int((~done).sum()),
                "median_seconds": _rounded(percentile(wall[done], 50)),
                "p90_seconds": _rounded(percentile(wall[done], 90)),
                "business_median_seconds": _rounded(percentile(business[done], 50)),
                "business_p90_seconds": _rounded(percentile(business[done], 90))},
               {"conversations": DrillRef(metric, group)})


def _rounded(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds)


def _timings(session: Session, f: ReportFilter) -> Timings:
    """Each conversation opened in the range: its times to first response and resolution."""
    resolved = case((Conversation.status.in_(DONE) & Conversation.merged_into_id.is_(None),
                     func.coalesce(Conversation.solved_at, Conversation.closed_at)))
    rows = fetch(session, select(
        Conversation.id, type_coerce(Conversation.channel, String),
        func.coalesce(Conversation.queue_id, 0), epoch(Conversation.created_at),
        epoch(Conversation.first_response_at), epoch(resolved))
        .where(*created_in_range(session, f)))
    ids, channels, queues, *instants = zip(*rows, strict=True) if rows else [()] * 6
    opened, *ends = (np.array(column, dtype=np.float64) for column in instants)
    last = max(np.nanmax(a, initial=f.since.timestamp()) for a in (opened, *ends))
    clocks = BusinessClocks(session, f.since, datetime.fromtimestamp(last, UTC))
    queue_ids = np.array(queues, dtype=np.int64)
    return Timings(np.array(ids, dtype=np.int64), np.array(channels, dtype=np.str_), queue_ids,
                   {m: end - opened for m, end in zip(METRICS, ends, strict=True)},
                   {m: clocks.seconds(queue_ids, opened, end)
                    for m, end in zip(METRICS, ends, strict=True)})


class BusinessClocks:
    """Business seconds between instants from ``first`` to ``last``, each counted in its
    queue's calendar (wall-clock seconds in a queue without one)."""

    def __init__(self, session: Session, first: datetime, last: datetime) -> None:
        self._first, self._last = first, last
        self._calendars = _queue_calendars(session)
        self._indexes: dict[int, BusinessTimeIndex] = {}

    def seconds(self, queues: npt.NDArray[np.int64], starts: Seconds, ends: Seconds) -> Seconds:
        counted = ends - starts
        for queue_id, (calendar_id, hours) in self._calendars.items():
            mask = queues == queue_id
            if mask.any():
                counted[mask] = self._index(calendar_id, hours).seconds(starts[mask], ends[mask])
        return counted

    def _index(self, calendar_id: int, hours: BusinessHours) -> BusinessTimeIndex:
        if calendar_id not in self._indexes:
            self._indexes[calendar_id] = BusinessTimeIndex(hours, self._first, self._last)
        return self._indexes[calendar_id]


def _queue_calendars(session: Session) -> dict[int, tuple[int, BusinessHours]]:
    """Each queue's calendar (id and hours), as its SLA clocks pick it."""
    calendars = {c.id: c.business_hours() for c in session.scalars(select(BusinessCalendar))}
    rows: Iterable[Any] = session.execute(
        select(Queue.id, func.coalesce(Queue.business_hours_id, SlaPolicy.calendar_id))
        .outerjoin(SlaPolicy, SlaPolicy.id == Queue.sla_policy_id))
    return {queue_id: (calendar_id, calendars[calendar_id])
            for queue_id, calendar_id in rows if calendar_id in calendars}
