"""Customer satisfaction: the ratings given in the range, per agent (or the assistant), per
queue and per channel, as each rating was attributed when it was first given."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import ValidationFailed
from helpdesk.models import Conversation
from helpdesk.services.reports.scope import ReportFilter, during, scope
from helpdesk.services.reports.stats import share
from helpdesk.services.reports.tables import (
    NONE,
    Drill,
    DrillRef,
    Report,
    Row,
    Table,
    dimension_table,
    key_number,
    queue_names,
    user_names,
)

ASSISTANT = "assistant"
SATISFIED = 4  # a rating of 4 or 5 is a satisfied customer
RATED = (events.CsatGiven.timeline_type, events.CsatChanged.timeline_type)
FIGURES = ("ratings", "average", "satisfied", "csat")
RATING = Conversation.csat_rating


def rated_in_range(session: Session, f: ReportFilter) -> list[Any]:
    """Ratings given within the range; the queue filter reads the queue rated."""
    return [RATING.is_not(None), *during(Conversation.csat_given_at, f),
            *scope(session, f, queue=Conversation.csat_queue_id)]


def figures(session: Session, where: list[Any], *group_by: Any) -> list[tuple[Any, ...]]:
    """``group_by`` values, then the ratings, their average and the satisfied ones."""
    return list(session.execute(
        select(*group_by, func.count(), func.avg(RATING),
               func.sum(case((RATING >= SATISFIED, 1), else_=0)))
        .where(*where).group_by(*group_by)))


def figure_cells(ratings: int, average: Any, satisfied: Any) -> dict[str, Any]:
    return {"ratings": ratings, "average": None if average is None else round(float(average), 2),
            "satisfied": satisfied or 0, "csat": share(satisfied or 0, ratings)}


def report(session: Session, f: ReportFilter) -> Report:
    """Ratings, their average and the share of satisfied customers (4 or 5), per agent,
    queue and channel; and how many of each rating."""
    where = rated_in_range(session, f)
    agents = [(_agent_key(by_assistant, agent), *rest) for by_assistant, agent, *rest
              in figures(session, where, Conversation.csat_by_assistant,
                         Conversation.csat_agent_id)]
    queues = [(_key(q), *rest) for q, *rest in figures(session, where, Conversation.csat_queue_id)]
    channels = [(c.value, *rest) for c, *rest in figures(session, where, Conversation.channel)]
    counts = dict(session.execute(
        select(RATING, func.count()).where(*where).group_by(RATING)).all())
    total = sum(counts.values())
    return Report("csat", f, [
        _table("by_agent", "agent", agents, {**user_names(session), ASSISTANT: ""}),
        _table("by_queue", "queue", queues, queue_names(session)),
        _table("by_channel", "channel", channels),
        Table("distribution", ("rating", "ratings", "share"), [
            Row({"rating": r, "ratings": counts.get(r, 0), "share": share(counts.get(r, 0), total)},
                {"ratings": DrillRef("rating", str(r))}) for r in range(1, 6)])])


def _table(name: str, dimension: str, groups: list[tuple[Any, ...]],
           names: dict[str, str] | None = None) -> Table:
    """The most rated first."""
    ordered = sorted(groups, key=lambda g: (-g[1], g[0]))
    return dimension_table(name, dimension, [(key, figure_cells(*rest)) for key, *rest in ordered],
                           "ratings", names)


def _agent_key(by_assistant: bool, agent_id: int | None) -> str:
    return ASSISTANT if by_assistant else _key(agent_id)


def _key(value: int | None) -> str:
    return NONE if value is None else str(value)


def drill(session: Session, f: ReportFilter, metric: str, key: str) -> Drill:
    """The ratings of an agent (or the assistant), a queue, a channel, or of one value."""
    where = [*rated_in_range(session, f), _matching(metric, key)]
    rows = session.execute(select(Conversation.id, RATING, Conversation.csat_given_at)
                           .where(*where).order_by(Conversation.csat_given_at, Conversation.id))
    return Drill([(cid, {"rating": rating, "rated_at": at}) for cid, rating, at in rows], RATED)


def _matching(metric: str, key: str) -> Any:
    if metric == "agent":
        if key == ASSISTANT:
            return Conversation.csat_by_assistant.is_(True)
        agent = (Conversation.csat_agent_id.is_(None) if key == NONE
                 else Conversation.csat_agent_id == key_number(key))
        return Conversation.csat_by_assistant.is_(False) & agent
    if metric == "queue":
        return (Conversation.csat_queue_id.is_(None) if key == NONE
                else Conversation.csat_queue_id == key_number(key))
    if metric == "channel":
        return Conversation.channel == key
    if metric == "rating":
        return Conversation.csat_rating == key_number(key, 5)
    raise ValidationFailed(f"CSAT has no metric {metric!r}", field="metric")
