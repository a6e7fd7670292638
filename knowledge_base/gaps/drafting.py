"""A draft article from how agents answered the conversations behind a content gap.

The body is the agents' most representative public replies (internal notes never, nor
the customers' or the assistant's messages), the title the gap's label, the example
questions its most central questions; email addresses, phone numbers and the customers'
names are replaced by placeholders. A reply is plain text and the body Markdown: its
``<`` and ``&`` are escaped, so the article shows what the agent wrote and no markup of
theirs (the body's HTML is sanitized on top, as every article's). The knowledge manager
edits and publishes it as any draft.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.errors import Conflict
from helpdesk.events import Actor
from helpdesk.models import AuthorKind, Conversation, Customer, Message
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork
from knowledge_base import articles
from knowledge_base.gaps.clustering import representatives
from knowledge_base.gaps.scrub import Scrubber, scrubber
from knowledge_base.gaps.service import set_status
from knowledge_base.models import (
    Article,
    ArticleContent,
    ContentGapCluster,
    GapStatus,
    UnansweredQuestion,
)
from knowledge_base.search.embedder import Embedder

REPLIES = 3
EXAMPLES = 20
DUPLICATE = 0.95  # cosine from which two replies say the same (a macro sent twice)
SEPARATOR = "\n\n---\n\n"
MARKUP = re.compile(r"[<&]")  # what starts HTML (a tag, an entity) in a Markdown text


def draft_article(uow: UnitOfWork, actor: Actor, cluster_id: int,
                  embedder: Embedder) -> Article:
    """Pre-fill a draft article from the gap's conversations (see the module docstring);
    the gap is then covered by it. Conflict when no agent replied in them yet, or when an
    article covers the gap already."""
    cluster = get_or_404(uow.session, ContentGapCluster, cluster_id, lock=True,
                         field="cluster_id")
    if cluster.article_id is not None:  # a retry must not draft a second article
        raise Conflict(f"this gap is covered by article {cluster.article_id}; reopen it to "
                       "draft another", field="cluster_id")
    content = _drafted(uow.session, cluster, embedder)
    with uow.one_transaction():
        article = articles.create_article(uow, actor, content)
        set_status(uow, actor, cluster.id, GapStatus.COVERED, article.id)
    return article


def _drafted(session: Session, cluster: ContentGapCluster,
             embedder: Embedder) -> ArticleContent:
    questions = _members(session, cluster.id)
    scrub = _scrubber(session, questions)
    replies = _unique(scrub(body) for body in _agent_replies(session, questions))
    if not replies:
        raise Conflict("no agent has replied publicly in this gap's conversations yet",
                       field="cluster_id")
    chosen = representatives(embedder.encode(replies), REPLIES, DUPLICATE)
    return ArticleContent(
        title=_shortened(scrub(questions[0].text), articles.MAX_TITLE),
        body=SEPARATOR.join(_literal(replies[i]) for i in chosen)[:articles.MAX_BODY],
        language=_language(cluster.language),
        example_questions=[_shortened(scrub(q.text), articles.MAX_QUESTION)
                           for q in questions[:EXAMPLES]])


def _members(session: Session, cluster_id: int) -> list[UnansweredQuestion]:
    """The gap's questions, the most central (its label) first."""
    return list(session.scalars(
        select(UnansweredQuestion).where(UnansweredQuestion.cluster_id == cluster_id)
        .order_by(UnansweredQuestion.central_rank)))


def _agent_replies(session: Session, questions: list[UnansweredQuestion]) -> list[str]:
    conversations = {q.conversation_id for q in questions if q.conversation_id}
    return list(session.scalars(
        select(Message.body).where(Message.conversation_id.in_(conversations),
                                   Message.author_kind == AuthorKind.AGENT,
                                   Message.internal.is_(False))
        .order_by(Message.id)))


def _scrubber(session: Session, questions: list[UnansweredQuestion]) -> Scrubber:
    """Removes the names of the customers of the gap's conversations (addresses and
    numbers go whoever they belong to)."""
    customers = select(Conversation.customer_id).where(
        Conversation.id.in_({q.conversation_id for q in questions if q.conversation_id}))
    return scrubber(session.scalars(select(Customer.name).where(Customer.id.in_(customers))))


def _unique(texts: Iterable[str]) -> list[str]:
    """The non-empty texts, each once, in order."""
    return list(dict.fromkeys(text.strip() for text in texts if text.strip()))


def _literal(text: str) -> str:
    """Plain text as Markdown that renders to that same text (no HTML of its own)."""
    return MARKUP.sub(lambda found: "\\" + found.group(), text)


def _shortened(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def _language(language: str) -> str:
    """The gap's language when articles may be written in it, else the default one."""
    return language if language in current_app.config["COMPTOIR"].languages else ""
