"""What a report covers: the local days from ``start`` to ``end``, and the conversations the
filters keep (channel, queue, customer segment)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from helpdesk.errors import ValidationFailed
from helpdesk.models import Channel, Conversation, Queue
from helpdesk.services import segments
from helpdesk.services.common import checked_enum, get_or_404
from helpdesk.services.reports.sql import QUARTER_HOUR
from helpdesk.services.sla_settings import checked_timezone

MAX_DAYS = 400  # a year and a bit: a year-on-year range is the longest asked for
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class ReportFilter:
    """Local days ``start`` to ``end`` (both included) in ``zone``; optional filters."""

    start: date
    end: date
    zone: ZoneInfo
    channel: Channel | None = None
    queue_id: int | None = None
    segment_id: int | None = None

    @property
    def since(self) -> datetime:
        """The first instant covered (UTC)."""
        return self.midnight(self.start)

    @property
    def until(self) -> datetime:
        """The first instant after the range (UTC)."""
        return self.midnight(self.end + timedelta(days=1))

    def midnight(self, day: date) -> datetime:
        """The start of the local ``day``, in UTC."""
        return datetime.combine(day, time(), tzinfo=self.zone).astimezone(UTC)

    @property
    def filtered(self) -> bool:
        """Whether any filter reads the conversation (else rows about conversations need not
        be joined to them)."""
        return any(v is not None for v in (self.channel, self.queue_id, self.segment_id))

    @property
    def day_count(self) -> int:
        return (self.end - self.start).days + 1

    def days(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def bucket_start(self, bucket: int) -> datetime:
        """The local time a quarter-hour ``time_bucket`` begins at."""
        return datetime.fromtimestamp(bucket * QUARTER_HOUR, self.zone)

    def day_numbers(self, buckets: Sequence[int]) -> npt.NDArray[np.int64]:
        """For each quarter-hour ``time_bucket``, the number of its local day in ``days()``:
        -1 before the range, the number of days after it."""
        midnights = [self.midnight(day).timestamp() for day in self.days()]
        starts = np.asarray(buckets, dtype=np.float64) * QUARTER_HOUR
        return np.searchsorted([*midnights, self.until.timestamp()], starts, side="right") - 1

    def per_day(self, buckets: Sequence[int], counts: Sequence[int]) -> list[int]:
        """``counts`` of quarter-hour buckets added up per local day of the range."""
        days = self.day_numbers(buckets)
        inside = (days >= 0) & (days < self.day_count)
        return np.bincount(days[inside], weights=np.asarray(counts, dtype=np.float64)[inside],
                           minlength=self.day_count).astype(int).tolist()

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "timezone": self.zone.key,
                "channel": self.channel, "queue_id": self.queue_id,
                "segment_id": self.segment_id}


def report_filter(session: Session, viewer_id: int, *, now: datetime,
                  start: date | None = None, end: date | None = None, timezone: str = "UTC",
                  channel: object = None, queue_id: int | None = None,
                  segment_id: int | None = None) -> ReportFilter:
    """Check what ``viewer_id`` asks for: ``end`` defaults to today (``now`` in
    ``timezone``), ``start`` to ``DEFAULT_DAYS`` before it; at most ``MAX_DAYS`` days; the
    queue exists; the segment is a shared one or the viewer's own."""
    zone = ZoneInfo(checked_timezone(timezone))
    end = end or now.astimezone(zone).date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise ValidationFailed("the end date is before the start date", field="end")
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed(f"a report covers at most {MAX_DAYS} days", field="end")
    if queue_id is not None:
        get_or_404(session, Queue, queue_id, field="queue_id")
    if segment_id is not None:
        segments.visible_segment(session, viewer_id, segment_id)
    return ReportFilter(start, end, zone,
                        checked_enum(Channel, channel, "channel") if channel else None,
                        queue_id, segment_id)


def scope(session: Session, f: ReportFilter, *,
          queue: InstrumentedAttribute[int | None] = Conversation.queue_id
          ) -> list[ColumnElement[bool]]:
    """The conditions on ``Conversation`` the filters make (``queue``: the column the queue
    filter reads, e.g. the queue a rating is attributed to)."""
    conditions: list[ColumnElement[bool]] = []
    if f.channel is not None:
        conditions.append(Conversation.channel == f.channel)
    if f.queue_id is not None:
        conditions.append(queue == f.queue_id)
    if f.segment_id is not None:
        conditions.append(Conversation.customer_id.in_(
            segments.member_ids(session, f.segment_id)))
    return conditions


def during(column: Any, f: ReportFilter) -> list[ColumnElement[bool]]:
    """``column`` falls within the report's days."""
    return [column >= f.since, column < f.until]


def created_in_range(session: Session, f: ReportFilter) -> list[ColumnElement[bool]]:
    """The conversations a report counts: opened within its days, kept by its filters."""
    return [*during(Conversation.created_at, f), *scope(session, f)]


def of_conversations(query: Select, session: Session, f: ReportFilter, conversation_id: Any,
                     *, queue: InstrumentedAttribute[int | None] = Conversation.queue_id
                     ) -> Select:
    """``query`` over rows of conversations (``conversation_id``: their column) kept to those
    of existing conversations the filters keep, joining ``conversations`` only when a filter
    needs it."""
    if not f.filtered:
        return query.where(conversation_id.is_not(None))
    return query.join(Conversation, Conversation.id == conversation_id).where(
        *scope(session, f, queue=queue))


def fetch(session: Session, query: Select) -> list[Any]:
    """Many narrow rows, without the ORM's per-row work (they are numbers, not objects)."""
    return list(session.connection().execute(query).all())
