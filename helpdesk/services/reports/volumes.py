"""Volumes: the conversations opened, per day, hour of the day, channel and queue."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from helpdesk.errors import ValidationFailed
from helpdesk.events import ConversationOpened
from helpdesk.models import Conversation
from helpdesk.services.reports.scope import ReportFilter, created_in_range, fetch
from helpdesk.services.reports.sql import QUARTER_HOUR, time_bucket
from helpdesk.services.reports.stats import share
from helpdesk.services.reports.tables import (
    NONE,
    Drill,
    Report,
    Table,
    dimension_table,
    key_day,
    key_number,
    next_day,
    queue_names,
)

OPENED = (ConversationOpened.timeline_type,)


def report(session: Session, f: ReportFilter) -> Report:
    """Conversations opened in the range, per local day and hour, channel and queue."""
    where = created_in_range(session, f)
    bucket = time_bucket(Conversation.created_at)
    buckets = fetch(session, select(bucket, func.count()).where(*where).group_by(bucket))
    hours = Counter[int]()
    for start, count in buckets:
        hours[f.bucket_start(start).hour] += count
    per_day = f.per_day([b for b, _ in buckets], [n for _, n in buckets])
    total = sum(per_day)
    return Report("volumes", f, [
        _table("by_day", "day", [(d.isoformat(), n) for d, n in zip(f.days(), per_day,
                                                                    strict=True)], total),
        _table("by_hour", "hour", [(str(h), hours[h]) for h in range(24)], total),
        _table("by_channel", "channel", _grouped(session, Conversation.channel, where), total),
        _table("by_queue", "queue", _grouped(session, Conversation.queue_id, where), total,
               queue_names(session))])


def _grouped(session: Session, column: Any, where: list[Any]) -> list[tuple[str, int]]:
    """Counts per value of ``column``, the largest first."""
    rows = session.execute(select(column, func.count()).where(*where).group_by(column))
    return sorted(((_key(value), count) for value, count in rows), key=lambda r: (-r[1], r[0]))


def _key(value: Any) -> str:
    return NONE if value is None else str(getattr(value, "value", value))


def _table(name: str, dimension: str, counts: list[tuple[str, int]], total: int,
           names: dict[str, str] | None = None) -> Table:
    groups = [(key, {"conversations": n, "share": share(n, total)}) for key, n in counts]
    return dimension_table(name, dimension, groups, "conversations", names)


def drill(session: Session, f: ReportFilter, metric: str, key: str) -> Drill:
    """The conversations opened on a day, at an hour, on a channel or in a queue."""
    where = [*created_in_range(session, f), _matching(f, metric, key)]
    rows = session.execute(select(Conversation.id, Conversation.created_at).where(*where)
                           .order_by(Conversation.created_at, Conversation.id))
    return Drill([(cid, {"created_at": at}) for cid, at in rows], OPENED)


def _matching(f: ReportFilter, metric: str, key: str) -> Any:
    if metric == "day":
        day = key_day(key, f)
        return and_(Conversation.created_at >= f.midnight(day),
                    Conversation.created_at < f.midnight(next_day(day)))
    if metric == "hour":
        return time_bucket(Conversation.created_at).in_(_hour_buckets(f, key_number(key, 23)))
    if metric == "channel":
        return Conversation.channel == key
    if metric == "queue":
        return (Conversation.queue_id.is_(None) if key == NONE
                else Conversation.queue_id == key_number(key))
    raise ValidationFailed(f"volumes have no metric {metric!r}", field="metric")


def _hour_buckets(f: ReportFilter, hour: int) -> list[int]:
    """The quarter-hour buckets of the range that begin in the local ``hour``."""
    first, last = (int(t.timestamp()) // QUARTER_HOUR for t in (f.since, f.until))
    return [b for b in range(first, last) if f.bucket_start(b).hour == hour]
