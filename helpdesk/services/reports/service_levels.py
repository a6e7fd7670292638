"""SLA compliance: of the conversations opened in the range, which targets were met and
which breached; and the breaches recorded in the range (every next-response cycle too)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import ValidationFailed
from helpdesk.models import Conversation, SlaBreach, SlaDeadline, SlaMetric, TimelineEvent
from helpdesk.services.common import checked_enum
from helpdesk.services.reports.scope import ReportFilter, created_in_range, during, scope
from helpdesk.services.reports.stats import share
from helpdesk.services.reports.tables import Drill, DrillRef, Report, Row, Table

OUTCOMES = ("met", "breached", "running")
BREACH_EVENTS = (events.SlaBreached.timeline_type,)
CLOCK_EVENTS = (events.ConversationOpened.timeline_type, events.StatusChanged.timeline_type,
                events.SlaWarned.timeline_type, *BREACH_EVENTS)


def report(session: Session, f: ReportFilter) -> Report:
    """Targets met and breached per metric, and breaches recorded per metric."""
    outcomes = dict.fromkeys(((m.value, o) for m in SlaMetric for o in OUTCOMES), 0)
    breached, met = SlaDeadline.breached_at.is_not(None), SlaDeadline.met_at.is_not(None)
    for metric, was_breached, was_met, count in session.execute(
            select(SlaDeadline.metric, breached, met, func.count())
            .join(Conversation, Conversation.id == SlaDeadline.conversation_id)
            .where(*created_in_range(session, f))
            .group_by(SlaDeadline.metric, breached, met)):
        outcome = "breached" if was_breached else "met" if was_met else "running"
        outcomes[metric.value, outcome] += count
    breaches = dict(session.execute(
        select(SlaBreach.metric, func.count()).join(
            Conversation, Conversation.id == SlaBreach.conversation_id)
        .where(*_breached_in_range(session, f)).group_by(SlaBreach.metric)).all())
    return Report("sla", f, [
        Table("compliance", ("metric", "met", "breached", "running", "compliance"),
              [_compliance_row(m.value, outcomes) for m in SlaMetric]),
        Table("breaches", ("metric", "breaches"),
              [Row({"metric": m.value, "breaches": breaches.get(m, 0)},
                   {"breaches": DrillRef("breaches", m.value)}) for m in SlaMetric])])


def _outcome() -> Any:
    """Met (in time), breached (late, or still open past due), else still running."""
    return case((SlaDeadline.breached_at.is_not(None), "breached"),
                (SlaDeadline.met_at.is_not(None), "met"), else_="running")


def _compliance_row(metric: str, outcomes: dict[tuple[str, str], int]) -> Row:
    met, breached = outcomes[metric, "met"], outcomes[metric, "breached"]
    return Row({"metric": metric, "met": met, "breached": breached,
                "running": outcomes[metric, "running"], "compliance": share(met, met + breached)},
               {o: DrillRef(o, metric) for o in OUTCOMES})


def _breached_in_range(session: Session, f: ReportFilter) -> list[Any]:
    return [*during(SlaBreach.breached_at, f), *scope(session, f)]


def drill(session: Session, f: ReportFilter, metric: str, key: str) -> Drill:
    """The conversations whose ``key`` target was met, breached or is running; or the
    breaches of a metric recorded in the range."""
    target = checked_enum(SlaMetric, key, "key")
    if metric == "breaches":
        rows = session.execute(
            select(SlaBreach.conversation_id, SlaBreach.due_at, SlaBreach.breached_at)
            .join(Conversation, Conversation.id == SlaBreach.conversation_id)
            .where(*_breached_in_range(session, f), SlaBreach.metric == target)
            .order_by(SlaBreach.breached_at, SlaBreach.id))
        return Drill([(cid, {"due_at": due, "breached_at": at}) for cid, due, at in rows],
                     BREACH_EVENTS, (TimelineEvent.payload["metric"].as_string() == key,))
    if metric not in OUTCOMES:
        raise ValidationFailed(f"SLA has no metric {metric!r}", field="metric")
    rows = session.execute(
        select(SlaDeadline.conversation_id, SlaDeadline.due_at, SlaDeadline.met_at)
        .join(Conversation, Conversation.id == SlaDeadline.conversation_id)
        .where(*created_in_range(session, f), SlaDeadline.metric == target,
               _outcome() == metric).order_by(SlaDeadline.conversation_id))
    return Drill([(cid, {"due_at": due, "met_at": met}) for cid, due, met in rows],
                 CLOCK_EVENTS)
