"""Content gaps kept up to date: escalated questions stored, clustered by the worker, the
knowledge managers' verdicts, and a customer's questions forgotten on erasure.

Store first, then process: an escalation stores the customer's question at once; the
clustering job (``refresh``) embeds the questions not clustered yet and places them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, undefer

from helpdesk.errors import ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import Conversation, Message
from helpdesk.orm import utcnow
from helpdesk.services.common import checked_enum, get_or_404
from helpdesk.uow import UnitOfWork
from knowledge_base.events import ContentGapChanged
from knowledge_base.gaps.clustering import adopt, assign, centrality
from knowledge_base.models import (
    Article,
    ContentGapCluster,
    ContentGapState,
    GapStatus,
    UnansweredQuestion,
)
from knowledge_base.search.embedder import Embedder, Vectors

MAX_TEXT = 2000
STATE_ID = 1
Question = UnansweredQuestion


@dataclass(frozen=True)
class GapSettings:
    """The clusters depend on both: a change of either reclusters every question."""

    model: str
    threshold: float


# Escalated questions


def remember_question(session: Session, message: Message, reason: str, language: str, *,
                      best_score: float | None = None,
                      best_article_id: int | None = None) -> None:
    """Store the customer message an escalation came from (once per message: a retry,
    or a handoff after the assistant's own escalation, adds nothing)."""
    if not message.body.strip() or session.scalar(
            select(Question.id).where(Question.message_id == message.id)) is not None:
        return
    session.add(Question(text=message.body[:MAX_TEXT], language=language, reason=reason,
                         best_score=best_score, best_article_id=best_article_id,
                         conversation_id=message.conversation_id, message_id=message.id))


# Clustering


def refresh(uow: UnitOfWork, settings: GapSettings, embedder: Callable[[], Embedder]) -> int:
    """Cluster the questions not clustered yet, or all of them again when the model or the
    threshold changed; returns how many were placed. One run at a time (a locked row);
    the model is loaded only when there is something to embed."""
    state = _locked_state(uow.session)
    former: dict[int, int] = {}
    if (state.model, state.threshold) != (settings.model, settings.threshold):
        former = _detach_all(uow.session)
    _resum(uow.session, _stale_clusters(uow.session))
    pending = list(uow.session.scalars(
        select(Question).where(Question.cluster_id.is_(None)).order_by(Question.id)))
    if pending:
        vectors = embedder().encode([q.text for q in pending])
        touched = _place(uow.session, pending, vectors, settings.threshold, former)
        _resum(uow.session, touched | set(former.values()))
    state.model, state.threshold, state.refreshed_at = (settings.model, settings.threshold,
                                                        utcnow())
    uow.commit()
    return len(pending)


def _locked_state(session: Session) -> ContentGapState:
    if session.get(ContentGapState, STATE_ID) is None:
        # Two first runs at once: one fails on the key and runs again at its next turn.
        session.add(ContentGapState(id=STATE_ID))
        session.flush()
    return get_or_404(session, ContentGapState, STATE_ID, lock=True)


def _detach_all(session: Session) -> dict[int, int]:
    """Take every question out of its cluster; returns where each one was. The emptied
    clusters stay until the new ones have adopted them (or not)."""
    former = {question: cluster for question, cluster in session.execute(
        select(Question.id, Question.cluster_id).where(Question.cluster_id.is_not(None)))}
    session.execute(update(Question).values(cluster_id=None, vector=None, central_rank=None))
    session.execute(update(ContentGapCluster).values(size=0))
    return former


def _stale_clusters(session: Session) -> set[int]:
    """Clusters whose members changed behind the job's back (deleted with their message)."""
    counts = (select(Question.cluster_id, func.count().label("members"))
              .group_by(Question.cluster_id).subquery())
    return set(session.scalars(
        select(ContentGapCluster.id).outerjoin(counts, counts.c.cluster_id ==
                                               ContentGapCluster.id)
        .where(ContentGapCluster.size != func.coalesce(counts.c.members, 0))))


def _place(session: Session, pending: list[Question], vectors: Vectors, threshold: float,
           former: dict[int, int]) -> set[int]:
    """Assign ``pending`` (oldest first) language by language; returns the clusters they
    joined."""
    by_language: dict[str, list[int]] = defaultdict(list)
    for index, question in enumerate(pending):
        by_language[question.language].append(index)
    touched: set[int] = set()
    for language, indexes in sorted(by_language.items()):
        touched |= _place_language(session, language, [pending[i] for i in indexes],
                                   vectors[indexes], threshold, former)
    session.flush()
    return touched


def _place_language(session: Session, language: str, questions: list[Question],
                    vectors: Vectors, threshold: float, former: dict[int, int]) -> set[int]:
    clusters = list(session.scalars(select(ContentGapCluster).where(
        ContentGapCluster.language == language, ContentGapCluster.size > 0)
        .order_by(ContentGapCluster.id).options(undefer(ContentGapCluster.centroid))))
    sums = np.zeros((len(clusters), vectors.shape[1]), dtype=np.float32)
    for row, cluster in zip(sums, clusters, strict=True):
        row[:] = _vector(cluster.centroid)
    sizes = np.array([c.size for c in clusters], dtype=np.int64)
    labels = assign(vectors, sums, sizes, threshold).labels
    rows = clusters + _new_clusters(session, language, questions, labels, len(clusters),
                                    former)
    for question, vector, label in zip(questions, vectors, labels, strict=True):
        question.cluster_id, question.vector = rows[label].id, vector.tobytes()
    return {rows[label].id for label in labels}


def _new_clusters(session: Session, language: str, questions: list[Question],
                  labels: list[int], known: int, former: dict[int, int],
                  ) -> list[ContentGapCluster]:
    """Rows for the clusters ``labels`` opened: after a reclustering, the former cluster
    most of the members come from (keeping its id and status), else a new row."""
    groups: list[list[int]] = [[] for _ in range(max(labels, default=known - 1) + 1 - known)]
    for question, label in zip(questions, labels, strict=True):
        if label >= known:
            groups[label - known].append(question.id)
    rows = [session.get(ContentGapCluster, cluster) if cluster else
            ContentGapCluster(language=language, centroid=b"")
            for cluster in adopt(groups, former)]
    session.add_all(rows)
    session.flush()
    return rows


def _resum(session: Session, cluster_ids: Iterable[int]) -> None:
    """Recompute the clusters' centroids, sizes and members' ranks from the members'
    vectors; a cluster left without members is deleted."""
    ids = sorted(cluster_ids)
    members: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    for question_id, cluster_id, vector in session.execute(
            select(Question.id, Question.cluster_id, Question.vector)
            .where(Question.cluster_id.in_(ids)).order_by(Question.id)):
        members[cluster_id].append((question_id, vector))
    for cluster in session.scalars(select(ContentGapCluster).where(
            ContentGapCluster.id.in_(ids))):
        if members[cluster.id]:
            _summed(session, cluster, members[cluster.id])
        else:
            session.delete(cluster)
    session.flush()


def _summed(session: Session, cluster: ContentGapCluster,
            members: list[tuple[int, bytes]]) -> None:
    vectors = np.stack([_vector(vector) for _id, vector in members])
    total = vectors.sum(axis=0, dtype=np.float32)
    cluster.centroid, cluster.size = total.tobytes(), len(members)
    order = np.argsort(-centrality(vectors, total), kind="stable")
    session.execute(update(Question), [
        {"id": members[index][0], "central_rank": rank}
        for rank, index in enumerate(order.tolist(), start=1)])


def _vector(data: bytes) -> Vectors:
    return np.frombuffer(data, dtype=np.float32)


# The managers' verdicts


def set_status(uow: UnitOfWork, actor: Actor, cluster_id: int, status: str,
               article_id: int | None = None) -> ContentGapCluster:
    """Dismiss a gap, reopen it, or mark it covered by an article (which it then names)."""
    status = checked_enum(GapStatus, status, "status")
    if (status is GapStatus.COVERED) != (article_id is not None):
        raise ValidationFailed("article_id is required to mark a gap covered, and only then",
                               field="article_id")
    if article_id is not None:
        get_or_404(uow.session, Article, article_id, field="article_id")
    cluster = get_or_404(uow.session, ContentGapCluster, cluster_id, lock=True,
                         field="cluster_id")
    cluster.status, cluster.article_id, cluster.updated_at = status, article_id, utcnow()
    uow.record(ContentGapChanged(actor=actor, cluster_id=cluster.id, status=status.value,
                                 article_id=article_id))
    uow.commit()
    return cluster


# Erasure


def forget_customer(session: Session, customer_id: int) -> int:
    """Delete the customer's questions (their text, vectors and ranks) and recompute
    the clusters they were in, whose centroid and label derive from them; a cluster left
    empty goes. Flushes, does not commit: erasure commits it with the rest. Call it
    before deleting the customer's conversations (the questions are found through them).
    Returns how many questions were deleted."""
    questions = select(Question.id).join(
        Conversation, Conversation.id == Question.conversation_id).where(
        Conversation.customer_id == customer_id)
    clusters = set(session.scalars(select(Question.cluster_id).distinct().where(
        Question.id.in_(questions), Question.cluster_id.is_not(None))))
    deleted = session.execute(delete(Question).where(Question.id.in_(questions)))
    _resum(session, clusters)
    return deleted.rowcount
