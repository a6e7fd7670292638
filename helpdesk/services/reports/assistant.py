"""The assistant: the conversations it took part in, those it handed to people and why, those
it resolved, and how satisfied the customers it served alone were.

Resolved (an auditable definition, docs/reports.md): the assistant posted in the
conversation; it was solved (or closed) without any human, meaning no handoff to a queue or
an agent and no message from an agent; and the customer did not come back within
``COMEBACK_WINDOW`` of the solve, on any channel: no conversation of theirs opened and no
message of theirs posted in that time. Until the window has passed, a solve waits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from helpdesk import events
from helpdesk.errors import ValidationFailed
from helpdesk.models import AuthorKind, Conversation, ConversationStatus, Message, TimelineEvent
from helpdesk.orm import utcnow
from helpdesk.services.reports.csat import figure_cells, figures, rated_in_range
from helpdesk.services.reports.scope import ReportFilter, created_in_range, fetch
from helpdesk.services.reports.sql import plus_seconds, seconds_between
from helpdesk.services.reports.stats import share
from helpdesk.services.reports.tables import ALL, Drill, DrillRef, Report, Row, Table

COMEBACK_WINDOW = timedelta(hours=72)
OWNER = events.OwnerChanged.timeline_type
OPENED = events.ConversationOpened.timeline_type
POSTED = events.MessagePosted.timeline_type
DONE = (ConversationStatus.SOLVED, ConversationStatus.CLOSED)
# What became of each conversation the assistant took part in.
HANDED_OFF, HUMAN, UNSOLVED = "handed_off", "human_joined", "not_solved"
CAME_BACK, AWAITING, RESOLVED = "came_back", "awaiting_window", "resolved"
WITHOUT_HUMAN = (CAME_BACK, AWAITING, RESOLVED)
RESOLVED_AT = case((Conversation.status.in_(DONE) & Conversation.merged_into_id.is_(None),
                    func.coalesce(Conversation.solved_at, Conversation.closed_at)))


@dataclass(frozen=True)
class Outcome:
    conversation_id: int
    outcome: str
    resolved_at: datetime | None
    comeback_event_id: int | None


def report(session: Session, f: ReportFilter) -> Report:
    """Involvement, handoffs and their reasons, resolution, and assistant-only CSAT."""
    handoffs = _handoffs(session, f)
    outcomes = _outcomes(session, f, utcnow(), {cid for cid, _ in handoffs})
    total = session.scalar(select(func.count()).select_from(Conversation)
                           .where(*created_in_range(session, f))) or 0
    reasons = sorted(Counter(reason for _, reason in handoffs).items(),
                     key=lambda r: (-r[1], r[0]))
    rated = figures(session, [*rated_in_range(session, f),
                              Conversation.csat_by_assistant.is_(True)])
    return Report("assistant", f, [
        Table("summary", ("measure", "conversations", "share"), _summary(outcomes, total)),
        Table("handoff_reasons", ("reason", "handoffs", "share"), [
            Row({"reason": r, "handoffs": n, "share": share(n, len(handoffs))},
                {"handoffs": DrillRef("reason", r)}) for r, n in reasons]),
        Table("csat", ("ratings", "average", "satisfied", "csat"), [
            Row(figure_cells(*(rated[0] if rated else (0, None, 0))),
                {"ratings": DrillRef("csat", ALL)})])])


def _summary(outcomes: list[Outcome], total: int) -> list[Row]:
    counts = {m: sum(o.outcome == m for o in outcomes) for m in (HANDED_OFF, *WITHOUT_HUMAN)}
    involved, alone = len(outcomes), sum(counts[m] for m in WITHOUT_HUMAN)
    measured = {"conversations": (total, None), "involved": (involved, total),
                HANDED_OFF: (counts[HANDED_OFF], involved), "solved_without_human": (
                    alone, involved), CAME_BACK: (counts[CAME_BACK], alone),
                AWAITING: (counts[AWAITING], alone), RESOLVED: (counts[RESOLVED], involved)}
    return [Row({"measure": m, "conversations": n,
                 "share": None if whole is None else share(n, whole)},
                {"conversations": DrillRef(m, ALL)}) for m, (n, whole) in measured.items()]


def _outcomes(session: Session, f: ReportFilter, now: datetime,
              handed: set[int]) -> list[Outcome]:
    """What became of each conversation opened in the range that the assistant took part in
    (``handed``: those handed over)."""
    involved = (select(Conversation.id, Conversation.customer_id, RESOLVED_AT.label("resolved"))
                .where(*created_in_range(session, f), select(Message.id).where(
                    Message.conversation_id == Conversation.id,
                    Message.author_kind == AuthorKind.BOT).exists()).subquery())
    agent_wrote = set(session.scalars(select(Message.conversation_id).join(
        involved, involved.c.id == Message.conversation_id).where(
        Message.author_kind == AuthorKind.AGENT).distinct()))
    rows = fetch(session, select(involved.c.id, involved.c.resolved, _first_comeback(involved))
                 .order_by(involved.c.id))
    return [Outcome(cid, _outcome(cid in agent_wrote, cid in handed, resolved, comeback, now),
                    resolved, comeback) for cid, resolved, comeback in rows]


def _outcome(agent_wrote: bool, handed_off: bool, resolved: datetime | None,
             comeback: int | None, now: datetime) -> str:
    if handed_off:
        return HANDED_OFF
    if agent_wrote:
        return HUMAN
    if resolved is None:
        return UNSOLVED
    if comeback is not None:
        return CAME_BACK
    return AWAITING if now < resolved + COMEBACK_WINDOW else RESOLVED


def _handoff_event(event: Any) -> tuple[Any, ...]:
    """A handoff: the conversation's owner changed from the assistant to people."""
    return event.type == OWNER, event.payload["from"].as_string() == "bot"


def _first_comeback(involved: Any) -> Any:
    """The customer's first contact within the window after the solve, on any channel: a
    conversation opened or a message of theirs (its timeline event's id)."""
    contact, window = aliased(TimelineEvent), int(COMEBACK_WINDOW.total_seconds())
    return select(func.min(contact.id)).where(
        contact.customer_id == involved.c.customer_id, contact.occurred_at > involved.c.resolved,
        contact.occurred_at < plus_seconds(involved.c.resolved, window + 1),  # for the index
        seconds_between(involved.c.resolved, contact.occurred_at) <= window,
        or_(contact.type == OPENED,
            and_(contact.type == POSTED, contact.actor_kind == "customer"))).scalar_subquery()


def _handoffs(session: Session, f: ReportFilter) -> list[tuple[int, str]]:
    """(conversation, reason) of each handoff of the conversations opened in the range."""
    return [tuple(row) for row in fetch(session, select(
        TimelineEvent.conversation_id, TimelineEvent.payload["reason"].as_string())
        .join(Conversation, Conversation.id == TimelineEvent.conversation_id)
        .where(*created_in_range(session, f), *_handoff_event(TimelineEvent)))]


def drill(session: Session, f: ReportFilter, metric: str, key: str) -> Drill:
    """The conversations behind a measure, a handoff reason, or the assistant's ratings."""
    if metric == "reason":
        reason = TimelineEvent.payload["reason"].as_string()
        rows = session.execute(
            select(TimelineEvent.conversation_id, TimelineEvent.occurred_at)
            .join(Conversation, Conversation.id == TimelineEvent.conversation_id)
            .where(*created_in_range(session, f), *_handoff_event(TimelineEvent), reason == key)
            .order_by(TimelineEvent.occurred_at, TimelineEvent.id))
        return Drill([(cid, {"handed_off_at": at}) for cid, at in rows], (OWNER,),
                     (*_handoff_event(TimelineEvent), reason == key))
    if metric == "csat":
        rows = session.execute(select(Conversation.id, Conversation.csat_rating).where(
            *rated_in_range(session, f), Conversation.csat_by_assistant.is_(True))
            .order_by(Conversation.csat_given_at, Conversation.id))
        return Drill([(cid, {"rating": r}) for cid, r in rows],
                     (events.CsatGiven.timeline_type, events.CsatChanged.timeline_type))
    if metric == "conversations":
        rows = session.execute(select(Conversation.id).where(*created_in_range(session, f))
                               .order_by(Conversation.created_at, Conversation.id))
        return Drill([(cid, {}) for (cid,) in rows], (OPENED,))
    return _outcome_drill(session, f, metric)


def _outcome_drill(session: Session, f: ReportFilter, metric: str) -> Drill:
    kept = {"involved": None, "solved_without_human": WITHOUT_HUMAN, HANDED_OFF: (HANDED_OFF,),
            CAME_BACK: (CAME_BACK,), AWAITING: (AWAITING,), RESOLVED: (RESOLVED,)}
    if metric not in kept:
        raise ValidationFailed(f"the assistant report has no metric {metric!r}",
                               field="metric")
    handed = {cid for cid, _ in _handoffs(session, f)}
    outcomes = [o for o in _outcomes(session, f, utcnow(), handed)
                if kept[metric] is None or o.outcome in kept[metric]]
    comebacks = _comebacks(session, [o.comeback_event_id for o in outcomes])
    return Drill([(o.conversation_id, {"outcome": o.outcome, "resolved_at": o.resolved_at,
                                       **comebacks.get(o.comeback_event_id, {})})
                  for o in outcomes], (OPENED, OWNER, events.StatusChanged.timeline_type))


def _comebacks(session: Session, event_ids: list[int | None]) -> dict[int, dict[str, Any]]:
    """Where and when each customer came back (the first contact in the window)."""
    wanted = [i for i in event_ids if i is not None]
    rows = session.execute(select(TimelineEvent.id, TimelineEvent.occurred_at,
                                  TimelineEvent.channel, TimelineEvent.conversation_id)
                           .where(TimelineEvent.id.in_(wanted))) if wanted else []
    return {i: {"came_back_at": at, "came_back_channel": channel,
                "came_back_conversation_id": cid} for i, at, channel, cid in rows}
