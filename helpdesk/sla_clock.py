"""Business-time arithmetic for the SLA clocks: pure functions, no database.

A ``BusinessHours`` counts the time inside its weekly opening periods, read in its IANA time
zone, with its holidays closed all day; ``WALL_CLOCK`` counts every second. Both ``add`` an
amount of counted time to an instant and measure the counted time ``between`` two instants.
Instants are timezone-aware and computed in UTC (Python adds and subtracts two datetimes of
one zone as wall-clock times, which is wrong across a change of daylight saving time).

Opening periods are minutes since local midnight, ``[start, end)``, up to 1440 (24:00).
Across a change of daylight saving time a period lasts the real time between its two local
ends (a 00:00-24:00 day lasts 23 or 25 hours); a local time that does not exist (the hour
skipped in spring) is read as Python reads it (PEP 495, ``fold=0``): as the time after the
jump, one hour later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Protocol
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
ZERO = timedelta(0)
PERIOD = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")

Period = tuple[int, int]  # minutes since local midnight: [opens, closes)


class Clock(Protocol):
    """What an SLA clock counts: all time, or business hours."""

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant when ``amount`` of counted time has passed since ``start``."""

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The counted time from ``start`` to ``end`` (negative when ``end`` is earlier)."""


class WallClock:
    """Every second counts (a policy without a calendar)."""

    def add(self, start: datetime, amount: timedelta) -> datetime:
        return start.astimezone(UTC) + amount

    def between(self, start: datetime, end: datetime) -> timedelta:
        return end.astimezone(UTC) - start.astimezone(UTC)


WALL_CLOCK = WallClock()


@dataclass(frozen=True)
class BusinessHours:
    """Weekly opening periods (``week``: Monday first) in ``zone``, closed on ``holidays``."""

    zone: ZoneInfo
    week: tuple[tuple[Period, ...], ...]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if len(self.week) != len(WEEKDAYS):
            raise ValueError(f"business hours need one entry per weekday, got {len(self.week)}")
        if not any(self.week):
            raise ValueError("business hours need at least one opening period in the week")

    def add(self, start: datetime, amount: timedelta) -> datetime:
        start = start.astimezone(UTC)
        if amount <= ZERO:
            return start
        left = amount
        for opens, closes in self._periods_from(start):
            begin = max(opens, start)
            if closes <= begin:
                continue
            if left <= closes - begin:
                return begin + left
            left -= closes - begin
        raise AssertionError("unreachable: the week has opening periods")  # pragma: no cover

    def between(self, start: datetime, end: datetime) -> timedelta:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end < start:
            return -self.between(end, start)
        total = ZERO
        for opens, closes in self._periods_from(start):
            if opens >= end:
                return total
            total += max(ZERO, min(closes, end) - max(opens, start))
        raise AssertionError("unreachable: the periods go on forever")  # pragma: no cover

    def periods_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's opening periods as UTC instants (none on a holiday)."""
        if day in self.holidays:
            return []
        return [(self._instant(day, opens), self._instant(day, closes))
                for opens, closes in self.week[day.weekday()]]

    def _periods_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The opening periods from the local day of ``start`` on, in order, without end."""
        day = start.astimezone(self.zone).date()
        while True:
            yield from self.periods_on(day)
            day += timedelta(days=1)

    def _instant(self, day: date, minute: int) -> datetime:
        days, minute = divmod(minute, DAY_MINUTES)
        local = datetime.combine(day + timedelta(days=days), time(minute // 60, minute % 60),
                                 tzinfo=self.zone)
        return local.astimezone(UTC)


def parse_periods(text: str) -> tuple[Period, ...]:
    """``"09:00-12:30, 13:30-18:00"`` as periods; blank: closed that day.

    ValueError names the part that is wrong: not HH:MM-HH:MM, a time past 24:00, a period
    that ends before it starts, periods that overlap.
    """
    periods = sorted(_period(part.strip()) for part in text.split(",") if part.strip())
    for (_, closes), (opens, _) in pairwise(periods):
        if opens < closes:
            raise ValueError(f"the periods of {text!r} overlap")
    return tuple(periods)


def _period(text: str) -> Period:
    match = PERIOD.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a period such as 09:00-12:30")
    hours1, minutes1, hours2, minutes2 = map(int, match.groups())
    opens, closes = hours1 * 60 + minutes1, hours2 * 60 + minutes2
    if max(minutes1, minutes2) > 59 or max(opens, closes) > DAY_MINUTES:
        raise ValueError(f"{text!r} holds a time that is not between 00:00 and 24:00")
    if closes <= opens:
        raise ValueError(f"{text!r} ends before it starts")
    return opens, closes


def format_periods(periods: Iterable[Period]) -> str:
    """The periods as ``parse_periods`` reads them: ``"09:00-12:30, 13:30-18:00"``."""
    return ", ".join(f"{_clock_time(opens)}-{_clock_time(closes)}" for opens, closes in periods)


def _clock_time(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True)
class Pause:
    """A span when the clocks stand still (``end`` None: still paused)."""

    start: datetime
    end: datetime | None = None


def pauses_of(changes: Iterable[tuple[datetime, bool]]) -> list[Pause]:
    """The pauses in a history of ``(from when, paused)`` states, given in time order."""
    pauses: list[Pause] = []
    paused_since: datetime | None = None
    for at, paused in changes:
        if paused and paused_since is None:
            paused_since = at
        elif not paused and paused_since is not None:
            pauses.append(Pause(paused_since, at))
            paused_since = None
    if paused_since is not None:
        pauses.append(Pause(paused_since))
    return pauses


@dataclass(frozen=True)
class Deadline:
    """Where a target stands at some instant."""

    due_at: datetime | None  # None while paused: the due time moves with the pause
    remaining: timedelta  # counted time left (frozen while paused); negative once overdue

    @property
    def paused(self) -> bool:
        return self.due_at is None


def deadline(clock: Clock, start: datetime, target: timedelta, pauses: Iterable[Pause],
             now: datetime) -> Deadline:
    """The deadline of ``target`` counted from ``start``, the ``pauses`` (in time order)
    left out, as it stands at ``now`` (a pause beginning after ``now`` does not count yet)."""
    left, cursor = target, start
    for pause in pauses:
        if pause.start > now:
            break
        if pause.end is not None and pause.end <= cursor:
            continue
        run = clock.between(cursor, max(pause.start, cursor))
        if run >= left:  # due before this pause began
            break
        left -= run
        if pause.end is None or pause.end > now:
            return Deadline(None, left)
        cursor = pause.end
    due = clock.add(cursor, left)
    return Deadline(due, clock.between(now, due))


Cycle = tuple[datetime, datetime | None]  # (waiting since, answered at)


def response_cycle(messages: Iterable[tuple[datetime, bool]]) -> Cycle | None:
    """The latest next-response cycle in a thread of public ``(sent at, from an agent)``
    messages, in order: from the customer's first message after an agent's reply to the
    agent reply that answered it (None: still waiting). None before any such message."""
    agent_replied, waiting_since = False, None
    cycle: Cycle | None = None
    for at, from_agent in messages:
        if from_agent:
            if waiting_since is not None:
                cycle, waiting_since = (waiting_since, at), None
            agent_replied = True
        elif agent_replied and waiting_since is None:
            waiting_since = at
    return (waiting_since, None) if waiting_since is not None else cycle
