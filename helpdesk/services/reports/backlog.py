"""The backlog over time: how many conversations were open (not solved, not closed) at the
end of each local day. Counted back from now, from the history: the conversations open now,
less those opened since, plus those a status change solved or closed since, less those a
change reopened since (docs/reports.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from helpdesk import events
from helpdesk.errors import ValidationFailed
from helpdesk.models import Conversation, ConversationStatus, TimelineEvent
from helpdesk.orm import utcnow
from helpdesk.services.reports.scope import ReportFilter, fetch, of_conversations, scope
from helpdesk.services.reports.sql import time_bucket
from helpdesk.services.reports.tables import (
    Drill,
    DrillRef,
    Report,
    Row,
    Table,
    key_day,
    next_day,
)

S = ConversationStatus
DONE = [S.SOLVED.value, S.CLOSED.value]
OPEN = [s.value for s in S if s.value not in DONE]
STATUS = events.StatusChanged.timeline_type
OPENED = events.ConversationOpened.timeline_type
FROM, TO = TimelineEvent.payload["from"].as_string(), TimelineEvent.payload["to"].as_string()
RESOLVES = and_(FROM.in_(OPEN), TO.in_(DONE))
REOPENS = and_(FROM.in_(DONE), TO.in_(OPEN))
COLUMNS = ("day", "opened", "resolved", "reopened", "open_at_end")


@dataclass(frozen=True)
class Flows:
    """Conversations opened, resolved and reopened per local day of the range, and the net
    change (opened, less resolved, plus reopened) after it, up to now."""

    opened: list[int]
    resolved: list[int]
    reopened: list[int]
    after: int


def report(session: Session, f: ReportFilter) -> Report:
    """Per local day: conversations opened, resolved and reopened, and open at its end."""
    flows = _flows(session, f, max(f.until, utcnow()))
    running = _open_now(session, f) - flows.after
    rows = []
    for n, day in reversed(list(enumerate(f.days()))):
        key = day.isoformat()
        rows.append(Row({"day": key, "opened": flows.opened[n], "resolved": flows.resolved[n],
                         "reopened": flows.reopened[n], "open_at_end": running},
                        {c: DrillRef(c, key) for c in COLUMNS[1:]}))
        running -= flows.opened[n] - flows.resolved[n] + flows.reopened[n]
    return Report("backlog", f, [Table("backlog", COLUMNS, rows[::-1])])


def _open_now(session: Session, f: ReportFilter) -> int:
    return session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.status.in_(OPEN), *scope(session, f))) or 0


def _flows(session: Session, f: ReportFilter, end: datetime) -> Flows:
    """What changed from the start of the range to ``end`` (now, or the range's end)."""
    opened = time_bucket(Conversation.created_at)
    births = fetch(session, select(opened, func.count()).where(
        Conversation.created_at >= f.since, Conversation.created_at < end,
        *scope(session, f)).group_by(opened))
    changed = time_bucket(TimelineEvent.occurred_at)
    changes = fetch(session, of_conversations(
        select(changed, TO, func.count()).where(
            TimelineEvent.type == STATUS, or_(RESOLVES, REOPENS),
            TimelineEvent.occurred_at >= f.since, TimelineEvent.occurred_at < end),
        session, f, TimelineEvent.conversation_id).group_by(changed, TO))
    resolves = [(b, n) for b, status, n in changes if status in DONE]
    reopens = [(b, n) for b, status, n in changes if status not in DONE]
    return Flows(*(f.per_day([b for b, _ in rows], [n for _, n in rows])
                   for rows in (births, resolves, reopens)),
                 after=_after(f, births) - _after(f, resolves) + _after(f, reopens))


def _after(f: ReportFilter, rows: list[tuple[int, int]]) -> int:
    """How many of the bucketed ``rows`` fall after the range."""
    return sum(n for (_, n), day in zip(rows, f.day_numbers([b for b, _ in rows]), strict=True)
               if day >= f.day_count)


def drill(session: Session, f: ReportFilter, metric: str, key: str) -> Drill:
    """A day's conversations: open at its end, opened, resolved or reopened that day."""
    day = key_day(key, f)
    start, end = f.midnight(day), f.midnight(next_day(day))
    if metric == "open_at_end":
        return _open_at_end(session, f, end)
    if metric == "opened":
        rows = session.execute(select(Conversation.id, Conversation.created_at).where(
            Conversation.created_at >= start, Conversation.created_at < end, *scope(session, f))
            .order_by(Conversation.created_at, Conversation.id))
        return Drill([(cid, {"created_at": at}) for cid, at in rows], (OPENED,))
    changes = {"resolved": RESOLVES, "reopened": REOPENS}
    if metric not in changes:
        raise ValidationFailed(f"the backlog has no metric {metric!r}", field="metric")
    within = (TimelineEvent.occurred_at >= start, TimelineEvent.occurred_at < end)
    rows = session.execute(
        select(TimelineEvent.conversation_id, TimelineEvent.occurred_at, TO)
        .join(Conversation, Conversation.id == TimelineEvent.conversation_id)
        .where(TimelineEvent.type == STATUS, changes[metric], *within, *scope(session, f))
        .order_by(TimelineEvent.occurred_at, TimelineEvent.id))
    return Drill([(cid, {"changed_at": at, "status": status}) for cid, at, status in rows],
                 (STATUS,), (changes[metric], *within))


def _open_at_end(session: Session, f: ReportFilter, end: datetime) -> Drill:
    """Each conversation open at ``end``: opened before, its latest status change before
    then (if any) leaving it open."""
    latest = (select(TimelineEvent.conversation_id, func.max(TimelineEvent.id).label("id"))
              .where(TimelineEvent.type == STATUS, TimelineEvent.occurred_at < end)
              .group_by(TimelineEvent.conversation_id).subquery())
    last = aliased(TimelineEvent)
    status = last.payload["to"].as_string()
    rows = session.execute(
        select(Conversation.id, status)
        .outerjoin(latest, latest.c.conversation_id == Conversation.id)
        .outerjoin(last, last.id == latest.c.id)
        .where(Conversation.created_at < end, *scope(session, f),
               or_(last.id.is_(None), status.in_(OPEN)))
        .order_by(Conversation.created_at, Conversation.id))
    return Drill([(cid, {"status": status or S.NEW.value}) for cid, status in rows],
                 (OPENED, STATUS), (TimelineEvent.occurred_at < end,))
