"""Helpers for the content-gap tests: escalated questions, agents' replies, the clusters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Customer, Message
from helpdesk.orm import clock_at
from helpdesk.services import conversations
from helpdesk.services.conversations import NewMessage
from knowledge_base.gaps import service
from knowledge_base.models import UnansweredQuestion as Question
from tests.factories import Factory

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def ask(make: Factory, text: str, customer: Customer | None = None, *,
        days_ago: float = 0) -> int:
    """A customer's question escalated ``days_ago`` before NOW; returns its conversation."""
    with clock_at(NOW - timedelta(days=days_ago)):
        conversation = make.conversation(customer, body=text)
        with make.app.app_context(), unit_of_work() as uow:
            message = uow.session.scalar(select(Message).where(
                Message.conversation_id == conversation.id))
            service.remember_question(uow.session, message, "low_confidence", "en")
            uow.commit()
    return conversation.id


def reply(make: Factory, conversation_id: int, body: str, *, internal: bool = False) -> None:
    """An agent's reply (or internal note) in the conversation."""
    agent = Actor("agent", make.user().id)
    with make.app.app_context(), unit_of_work() as uow:
        conversations.post_message(uow, conversation_id, NewMessage(
            body=body, author=agent, internal=internal))


def clusters() -> list[list[str]]:
    """Each cluster's questions, oldest first; clusters by id (in an app context)."""
    found: dict[int, list[str]] = {}
    for text, cluster_id in db.session.execute(
            select(Question.text, Question.cluster_id).order_by(Question.cluster_id,
                                                                Question.id)):
        found.setdefault(cluster_id, []).append(text)
    return list(found.values())


def cluster_of(text: str) -> int:
    return db.session.scalar(select(Question.cluster_id).where(Question.text == text))
