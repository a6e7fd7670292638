"""Agent activity: conversations handled (replied to), replies, solves and the average
handling time (from the conversation's assignment to the agent to the agent solving it), and
time online from the presence history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, distinct, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from helpdesk import events
from helpdesk.errors import ValidationFailed
from helpdesk.models import (
    AuthorKind,
    Message,
    Presence,
    PresenceChange,
    TimelineEvent,
)
from helpdesk.orm import UTCDateTime, utcnow
from helpdesk.services.reports.scope import ReportFilter, during, fetch, of_conversations
from helpdesk.services.reports.sql import seconds_between
from helpdesk.services.reports.tables import (
    Drill,
    DrillRef,
    Report,
    Row,
    Table,
    key_number,
    user_names,
)

STATUS = events.StatusChanged.timeline_type
ASSIGNED = events.ConversationAssigned.timeline_type
POSTED = events.MessagePosted.timeline_type
OPENED = events.ConversationOpened.timeline_type
COLUMNS = ("agent", "agent_name", "handled", "replies", "solved", "average_handling_seconds",
           "online_seconds")


def report(session: Session, f: ReportFilter) -> Report:
    """Per agent with any activity or time online in the range."""
    replies = {agent: (handled, count) for agent, count, handled in fetch(session, _replies(
        session, f, Message.author_id, func.count(), func.count(distinct(Message.conversation_id))
    ).group_by(Message.author_id))}
    solves = _solves(session, f).subquery()
    solved = {agent: (count, average) for agent, count, average in fetch(session, select(
        solves.c.agent, func.count(), func.avg(seconds_between(solves.c.since, solves.c.at)))
        .group_by(solves.c.agent))}
    online = online_seconds(session, f.since, min(f.until, utcnow()))
    names = user_names(session)
    agents = sorted({*replies, *solved, *(a for a, s in online.items() if s)},
                    key=lambda a: (names.get(str(a), ""), a))
    return Report("agents", f, [Table("agents", COLUMNS, [
        _row(a, names.get(str(a), ""), replies.get(a, (0, 0)), solved.get(a, (0, None)),
             online.get(a, 0.0)) for a in agents])])


def _row(agent: int, name: str, replies: tuple[int, int], solved: tuple[int, float | None],
         online: float) -> Row:
    key, (count, average) = str(agent), solved
    return Row({"agent": key, "agent_name": name, "handled": replies[0], "replies": replies[1],
                "solved": count,
                "average_handling_seconds": None if average is None else round(average),
                "online_seconds": round(online)},
               {"handled": DrillRef("handled", key), "replies": DrillRef("handled", key),
                "solved": DrillRef("solved", key),
                "average_handling_seconds": DrillRef("solved", key)})


def _replies(session: Session, f: ReportFilter, *columns: Any) -> Select:
    """``columns`` of the agents' public replies posted in the range."""
    return of_conversations(select(*columns).where(
        Message.author_kind == AuthorKind.AGENT, Message.internal.is_(False),
        *during(Message.created_at, f)), session, f, Message.conversation_id)


def _solves(session: Session, f: ReportFilter, agent: int | None = None) -> Select:
    """Each solve by an agent in the range: ``agent``, ``conversation_id``, ``at``, and
    ``since``: when the agent got the conversation, its latest assignment to them before the
    solve, else its opening."""
    solve, start = TimelineEvent, aliased(TimelineEvent)
    got_it = and_(start.conversation_id == solve.conversation_id,
                  start.occurred_at <= solve.occurred_at,
                  or_(start.type == OPENED,
                      and_(start.type == ASSIGNED,
                           start.payload["assignee_id"].as_integer() == solve.actor_id)))
    by_agent = [] if agent is None else [solve.actor_id == agent]
    return of_conversations(
        select(solve.actor_id.label("agent"), solve.conversation_id,
               solve.occurred_at.label("at"), func.max(start.occurred_at).label("since"))
        .outerjoin(start, got_it)
        .where(solve.type == STATUS, solve.actor_kind == "agent",
               solve.payload["to"].as_string() == "solved", *by_agent,
               *during(solve.occurred_at, f))
        .group_by(solve.id, solve.actor_id, solve.conversation_id, solve.occurred_at),
        session, f, solve.conversation_id)


def online_seconds(session: Session, since: datetime, until: datetime) -> dict[int, float]:
    """Seconds each staff member was online from ``since`` to ``until``, from the presence
    history: each change lasts until the next one (the latest before ``since`` counts from
    ``since``)."""
    changes = union_all(
        select(PresenceChange.user_id, PresenceChange.presence,
               literal(since, UTCDateTime()).label("at"), PresenceChange.id)
        .where(PresenceChange.id.in_(select(func.max(PresenceChange.id))
                                     .where(PresenceChange.changed_at < since)
                                     .group_by(PresenceChange.user_id))),
        select(PresenceChange.user_id, PresenceChange.presence,
               PresenceChange.changed_at.label("at"), PresenceChange.id)
        .where(PresenceChange.changed_at >= since, PresenceChange.changed_at < until)).subquery()
    spans = select(changes.c.user_id, changes.c.presence, changes.c.at.label("start"),
                   func.lead(changes.c.at).over(partition_by=changes.c.user_id,
                                                order_by=(changes.c.at, changes.c.id))
                   .label("stop")).subquery()
    lasted = seconds_between(spans.c.start, func.coalesce(spans.c.stop,
                                                          literal(until, UTCDateTime())))
    return {user: float(seconds) for user, seconds in session.execute(
        select(spans.c.user_id, func.sum(lasted))
        .where(spans.c.presence == Presence.ONLINE.value).group_by(spans.c.user_id))}


def drill(session: Session, f: ReportFilter, metric: str, key: str) -> Drill:
    """The conversations an agent replied to, or solved (with the handling time)."""
    agent = key_number(key)
    if metric == "handled":
        rows = session.execute(_replies(session, f, Message.conversation_id, func.count())
                               .where(Message.author_id == agent)
                               .group_by(Message.conversation_id)
                               .order_by(Message.conversation_id))
        return Drill([(cid, {"replies": n}) for cid, n in rows], (POSTED,),
                     (TimelineEvent.actor_kind == "agent", TimelineEvent.actor_id == agent,
                      *during(TimelineEvent.occurred_at, f)))
    if metric == "solved":
        solves = _solves(session, f, agent).subquery()
        rows = session.execute(select(solves.c.conversation_id, solves.c.at,
                                      seconds_between(solves.c.since, solves.c.at))
                               .order_by(solves.c.at, solves.c.conversation_id))
        return Drill([(cid, {"solved_at": at, "handling_seconds": round(seconds)})
                      for cid, at, seconds in rows], (OPENED, ASSIGNED, STATUS))
    raise ValidationFailed(f"agent activity has no metric {metric!r}", field="metric")
