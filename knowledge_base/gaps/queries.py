"""Read side of the content gaps: clusters ranked by volume or growth, with their label and
examples.

Volume is the number of questions a cluster holds (its ``size``, kept by the clustering
job and by erasure). Growth is the number of its questions asked in the last 7 days (from
``now - 7 days`` on) minus those asked in the 7 days before (from ``now - 14 days`` to
``now - 7 days``), counted when the page is read over the last 14 days' questions only
(``created_at`` is indexed), so it is never stale and stays cheap as the history grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, Subquery, case, func, select
from sqlalchemy.orm import Session, selectinload

from helpdesk.errors import NotFound
from helpdesk.services.queries import Page
from knowledge_base.models import ContentGapCluster, GapStatus, UnansweredQuestion

WINDOW = timedelta(days=7)
Question = UnansweredQuestion
Cluster = ContentGapCluster


class GapSort(StrEnum):
    VOLUME = "volume"  # most questions first, then the fastest growing
    GROWTH = "growth"  # largest rise of the last 7 days over the 7 before, then volume


@dataclass(frozen=True)
class GapFilter:
    status: GapStatus | None = GapStatus.OPEN  # None: every status
    language: str | None = None
    sort: GapSort = GapSort.VOLUME


@dataclass(frozen=True)
class Gap:
    """A cluster with its counts; ``examples`` the most central questions first (the
    first is its label)."""

    cluster: ContentGapCluster
    questions: int
    last_7_days: int
    previous_7_days: int
    last_asked_at: datetime
    examples: list[UnansweredQuestion]

    @property
    def growth(self) -> int:
        return self.last_7_days - self.previous_7_days

    @property
    def label(self) -> str:
        return self.examples[0].text if self.examples else ""


def list_gaps(session: Session, filters: GapFilter, now: datetime, *, page: int = 1,
              per_page: int = 25, examples: int = 3) -> Page[Gap]:
    """The clusters ``filters`` admit, ranked as it asks, with ``examples`` questions each."""
    conditions = [Cluster.size > 0, *_conditions(filters)]
    total = session.scalar(select(func.count()).select_from(Cluster).where(*conditions))
    recent = _recent_counts(now)
    query = _ranked(_with_counts(recent).where(*conditions), recent, filters.sort)
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(_gaps(session, rows, examples), total or 0, page, per_page)


def get_gap(session: Session, cluster_id: int, now: datetime, *, examples: int) -> Gap:
    """One cluster with up to ``examples`` of its questions, or NotFound."""
    rows = session.execute(_with_counts(_recent_counts(now)).where(
        Cluster.id == cluster_id, Cluster.size > 0)).all()
    found = _gaps(session, rows, examples)
    if not found:
        raise NotFound(f"no content gap has id {cluster_id}", field="cluster_id")
    return found[0]


def _recent_counts(now: datetime) -> Subquery:
    """Per cluster, its questions of the last 7 days and of the 7 before."""
    recent, previous = now - WINDOW, now - 2 * WINDOW
    return select(
        Question.cluster_id,
        func.sum(case((Question.created_at >= recent, 1), else_=0)).label("last_7_days"),
        func.sum(case((Question.created_at < recent, 1), else_=0)).label("previous_7_days"),
    ).where(Question.created_at >= previous).group_by(Question.cluster_id).subquery()


def _with_counts(recent: Subquery) -> Select:
    return select(Cluster, func.coalesce(recent.c.last_7_days, 0),
                  func.coalesce(recent.c.previous_7_days, 0)).outerjoin(
        recent, recent.c.cluster_id == Cluster.id).options(selectinload(Cluster.article))


def _conditions(filters: GapFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.status:
        conditions.append(Cluster.status == filters.status)
    if filters.language:
        conditions.append(Cluster.language == filters.language)
    return conditions


def _ranked(query: Select, recent: Subquery, sort: GapSort) -> Select:
    last = func.coalesce(recent.c.last_7_days, 0)
    growth = (last - func.coalesce(recent.c.previous_7_days, 0)).desc()
    volume = Cluster.size.desc()
    keys = (volume, growth) if sort is GapSort.VOLUME else (growth, last.desc(), volume)
    return query.order_by(*keys, Cluster.id)


def _gaps(session: Session, rows: list, examples: int) -> list[Gap]:
    """The rows as gaps; a cluster whose questions were all deleted behind the job's back
    (until its next run) is left out."""
    ids = [row[0].id for row in rows]
    chosen, last_asked = _examples(session, ids, examples), _last_asked(session, ids)
    return [Gap(cluster, cluster.size, int(last), int(previous), last_asked[cluster.id],
                chosen.get(cluster.id, []))
            for cluster, last, previous in rows if cluster.id in last_asked]


def _last_asked(session: Session, cluster_ids: list[int]) -> dict[int, datetime]:
    return {cluster: at for cluster, at in session.execute(
        select(Question.cluster_id, func.max(Question.created_at))
        .where(Question.cluster_id.in_(cluster_ids)).group_by(Question.cluster_id))}


def _examples(session: Session, cluster_ids: list[int],
              limit: int) -> dict[int, list[UnansweredQuestion]]:
    """Up to ``limit`` questions per cluster, the most central first (one indexed query)."""
    chosen: dict[int, list[UnansweredQuestion]] = {}
    for question in session.scalars(select(Question).where(
            Question.cluster_id.in_(cluster_ids), Question.central_rank <= limit)
            .order_by(Question.cluster_id, Question.central_rank)):
        chosen.setdefault(question.cluster_id, []).append(question)
    return chosen
