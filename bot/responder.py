"""The assistant at work in live chats: it answers customer messages while it owns the
conversation, and stays silent once people do.

After a customer's message is committed, the reply is computed on a worker thread (the
customer's ack never waits for the model; in testing, inline, so tests see it at once) by
the app's ``Engine``; its actions become bot messages, or a handoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from typing import Any

from flask import Flask
from sqlalchemy import select

from bot.engine import BotContext, Engine, SiteThresholds
from bot.handoff import hand_off
from bot.responses import Action, Answer, Clarify, Escalate
from bot.service import assistant
from helpdesk import events
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import AuthorKind, Channel, Conversation, Customer, Message, Owner, Site
from helpdesk.services import conversations
from helpdesk.services.conversations import BOT_ACTOR, NewMessage
from helpdesk.uow import UnitOfWork
from knowledge_base.models import UnansweredQuestion

log = logging.getLogger(__name__)
EXTENSION = "comptoir.chat_responder"
WORKERS = 4


def init_app(app: Flask, engine_factory: Callable[[], Engine] | None = None) -> ChatResponder:
    """Answer the app's live chats with ``engine_factory()`` (default: the built-in
    knowledge-base engine); calling it again swaps the engine."""
    if EXTENSION not in app.extensions:
        app.extensions["comptoir.events"].subscribe(
            events.MessagePosted, lambda event: app.extensions[EXTENSION].on_message(event))
    responder = ChatResponder(app, engine_factory or (lambda: assistant(app).engine),
                              inline=app.config["COMPTOIR"].testing)
    app.extensions[EXTENSION] = responder
    return responder


class ChatResponder:
    """One app's assistant in chats: ``engine_factory`` builds the engine on first use."""

    def __init__(self, app: Flask, engine_factory: Callable[[], Engine], *,
                 inline: bool = False) -> None:
        self._app = app
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self._inline = inline
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="assistant")

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    def on_message(self, event: events.DomainEvent) -> None:
        """After commit: queue a reply to a customer's chat message."""
        if not (isinstance(event, events.MessagePosted) and event.author_kind == "customer"
                and event.channel == Channel.CHAT.value and event.conversation_id):
            return
        if self._inline:
            self._reply_in_app(event.conversation_id, event.message_id)
        else:
            self._pool.submit(self._reply_in_app, event.conversation_id, event.message_id)

    def _reply_in_app(self, conversation_id: int, message_id: int) -> None:
        with self._app.app_context():
            try:
                self.reply(conversation_id, message_id)
            except Exception:
                log.exception("the assistant failed on message %s", message_id)

    def reply(self, conversation_id: int, message_id: int) -> None:
        """Answer one customer message, if the assistant still owns the conversation."""
        conversation = db.session.get(Conversation, conversation_id)
        message = db.session.get(Message, message_id)
        if conversation is None or message is None or conversation.owner != Owner.BOT:
            return  # people own it: the assistant stays silent
        context = _context(conversation, _follow_up_streak(conversation.id))
        for action in self.engine.respond(context, message.body):
            if conversation_owner(conversation_id) != Owner.BOT:
                return
            self._apply(conversation, message, action)

    def _apply(self, conversation: Conversation, message: Message, action: Action) -> None:
        with unit_of_work() as uow:
            if isinstance(action, Escalate):
                _log_unanswered(uow, conversation, message, action)
                hand_off(uow, conversation.id, action.reason)
            else:
                post_reply(uow, conversation.id, message, action)


def post_reply(uow: UnitOfWork, conversation_id: int, question: Message,
               action: Answer | Clarify) -> Message:
    """The assistant's answer (with its citation) or its clarifying question (options)."""
    if isinstance(action, Answer):
        meta: dict[str, Any] = {"citations": [_citation(action.citation)], "feedback": True}
    else:
        meta = {"options": [{"label": o.title, "article_id": o.article_id} for o in
                            action.options], "citations": [_citation(o) for o in action.options]}
    return conversations.post_message(uow, conversation_id, NewMessage(
        body=action.text, author=BOT_ACTOR, meta=meta,
        client_id=f"bot-{question.id}-{type(action).__name__.lower()}"))


def conversation_owner(conversation_id: int) -> Owner | None:
    db.session.expire_all()
    conversation = db.session.get(Conversation, conversation_id)
    return conversation.owner if conversation else None


def _context(conversation: Conversation, streak: int) -> BotContext:
    site = db.session.get(Site, conversation.site_id) if conversation.site_id else None
    return BotContext(conversation_id=conversation.id, language=_language(conversation, site),
                      unhelpful_streak=streak, thresholds=_site_thresholds(site))


def _language(conversation: Conversation, site: Site | None) -> str:
    customer = db.session.get(Customer, conversation.customer_id)
    return (customer.language if customer else None) or (site.language if site else "en")


def _site_thresholds(site: Site | None) -> SiteThresholds | None:
    if site is None or not site.bot_settings:
        return None
    known = {f.name for f in fields(SiteThresholds)}
    return SiteThresholds(**{k: v for k, v in site.bot_settings.items() if k in known})


def _follow_up_streak(conversation_id: int) -> int:
    """Count the customer writing again right after an answer they did not mark helpful:
    the answer did not settle it. A helpful mark or a handoff resets the count."""
    with unit_of_work() as uow:
        conversation = uow.session.get(Conversation, conversation_id, with_for_update=True)
        last_bot = uow.session.scalar(
            select(Message).where(Message.conversation_id == conversation_id,
                                  Message.author_kind == AuthorKind.BOT)
            .order_by(Message.seq.desc()).limit(1))
        if last_bot is not None and last_bot.meta.get("feedback") \
                and last_bot.meta.get("helpful") is None:
            conversation.unhelpful_answers += 1
            uow.commit()
        return conversation.unhelpful_answers


def _log_unanswered(uow: UnitOfWork, conversation: Conversation, message: Message,
                    action: Escalate) -> None:
    """Every escalated question, with why and its best score, for the knowledge managers."""
    site = db.session.get(Site, conversation.site_id) if conversation.site_id else None
    uow.session.add(UnansweredQuestion(
        text=message.body[:2000], language=_language(conversation, site),
        reason=action.reason, best_score=action.best_score,
        best_article_id=getattr(action, "best_article_id", None),
        conversation_id=conversation.id))
    uow.commit()


def _citation(citation: Any) -> dict[str, Any]:
    return {"article_id": citation.article_id, "version": citation.version,
            "title": citation.title, "url": citation.url}
