"""The customer's verdict on one of the assistant's answers."""

from __future__ import annotations

from sqlalchemy import select

from bot.handoff import hand_off
from helpdesk.errors import ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import AuthorKind, Conversation, Message
from helpdesk.uow import UnitOfWork
from knowledge_base.feedback import record_feedback


def answer_feedback(uow: UnitOfWork, conversation: Conversation, seq: int, *,
                    helpful: bool) -> None:
    """The customer's verdict on answer ``seq``: it feeds the article's feedback; "not
    helpful" hands the conversation to people."""
    answer = uow.session.scalar(select(Message).where(
        Message.conversation_id == conversation.id, Message.seq == seq))
    if answer is None or answer.author_kind != AuthorKind.BOT or not answer.meta.get("feedback"):
        raise ValidationFailed(f"message {seq} is not an answer of the assistant", field="seq")
    answer.meta = {**answer.meta, "helpful": helpful}
    if helpful:
        conversation.unhelpful_answers = 0
    customer = Actor("customer", conversation.customer_id)
    for citation in answer.meta.get("citations", []):  # each commits, the marks above too
        record_feedback(uow, customer, citation["article_id"], helpful=helpful, comment="")
    if not helpful:
        hand_off(uow, conversation.id, "marked_unhelpful")
