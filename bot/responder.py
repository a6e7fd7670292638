"""The assistant at work in live chats: it answers customer messages while it owns the
conversation, and stays silent once people do.

After a customer's message is committed, the reply is computed on a worker thread (the
customer's ack never waits for the model; in testing, inline, so tests see it at once) by
the app's ``Engine`` (``bot_engine``: the built-in one or Rasa); its actions become bot
messages, or a handoff.
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
from bot.handoff import conversation_language, hand_off, request_handoff
from bot.responses import Action, Answer, Clarify, Escalate, Reply
from bot.service import chat_engine
from helpdesk import events
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import AuthorKind, Channel, Conversation, Message, Owner, Site
from helpdesk.services import conversations
from helpdesk.services.conversations import BOT_ACTOR, NewMessage
from helpdesk.uow import UnitOfWork
from knowledge_base.gaps.service import remember_question

log = logging.getLogger(__name__)
EXTENSION = "comptoir.chat_responder"
WORKERS = 4


def init_app(app: Flask, engine_factory: Callable[[], Engine] | None = None) -> ChatResponder:
    """Answer the app's live chats with ``engine_factory()`` (default: the engine the
    ``bot_engine`` setting names); calling it again swaps the engine."""
    if EXTENSION not in app.extensions:
        app.extensions["comptoir.events"].subscribe(
            events.MessagePosted, lambda event: app.extensions[EXTENSION].on_message(event))
    responder = ChatResponder(app, engine_factory or (lambda: chat_engine(app)),
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
        context = _context(conversation, _follow_up_streak(conversation.id), message)
        # End the read: no pooled connection waits on the engine (Rasa's actions may call
        # our API meanwhile). The loaded rows stay usable (sessions do not expire on commit).
        db.session.commit()
        for position, action in enumerate(self.engine.respond(context, message.body)):
            if conversation_owner(conversation_id) != Owner.BOT:
                return
            self._apply(conversation, message, action, position)

    def _apply(self, conversation: Conversation, message: Message, action: Action,
               position: int) -> None:
        with unit_of_work() as uow:
            if isinstance(action, Escalate):
                _log_unanswered(uow, conversation, message, action)
                _hand_off(uow, conversation.id, action)
            else:
                post_reply(uow, conversation.id, message, action, position)


def post_reply(uow: UnitOfWork, conversation_id: int, question: Message,
               action: Answer | Clarify | Reply, position: int = 0) -> Message:
    """The assistant's answer (with its citation), its clarifying question (options) or
    a dialogue engine's reply; ``position`` among the replies to ``question``."""
    return conversations.post_message(uow, conversation_id, NewMessage(
        body=_body(action), author=BOT_ACTOR, meta=_meta(action),
        client_id=f"bot-{question.id}-{position}-{type(action).__name__.lower()}"))


def _body(action: Answer | Clarify | Reply) -> str:
    """The message's text; a reply with none shows its image (the URL is what agents and
    transcripts see) or its buttons."""
    if not isinstance(action, Reply) or action.text.strip():
        return action.text
    return action.image or " / ".join(button.title for button in action.buttons)


def _meta(action: Answer | Clarify | Reply) -> dict[str, Any]:
    if isinstance(action, Answer):
        return {"citations": [_citation(action.citation)], "feedback": True}
    if isinstance(action, Clarify):
        return {"options": [{"label": o.title, "article_id": o.article_id} for o in
                            action.options], "citations": [_citation(o) for o in action.options]}
    meta: dict[str, Any] = {"options": [{"label": b.title, "payload": b.payload}
                                        for b in action.buttons]} if action.buttons else {}
    if action.image:
        meta["image"] = action.image
    if action.custom is not None:
        meta["custom"] = action.custom
    return meta


def _hand_off(uow: UnitOfWork, conversation_id: int, action: Escalate) -> None:
    """Hand over to the queue the engine named; an unknown name falls back to the site's
    queue (the customer must reach someone)."""
    try:
        request_handoff(uow, conversation_id, action.reason, action.queue)
    except ValidationFailed as exc:
        log.warning("handoff of conversation %s: %s; the site's queue takes it",
                    conversation_id, exc.message)
        hand_off(uow, conversation_id, action.reason)


def conversation_owner(conversation_id: int) -> Owner | None:
    db.session.expire_all()
    conversation = db.session.get(Conversation, conversation_id)
    return conversation.owner if conversation else None


def _context(conversation: Conversation, streak: int, message: Message) -> BotContext:
    site = db.session.get(Site, conversation.site_id) if conversation.site_id else None
    return BotContext(conversation_id=conversation.id,
                      language=conversation_language(db.session, conversation),
                      unhelpful_streak=streak, thresholds=_site_thresholds(site),
                      payload=_button_payload(message))


def _button_payload(message: Message) -> str | None:
    """The payload of the quick reply the customer pressed (``choice.payload``), if any."""
    choice = (message.meta or {}).get("choice")
    payload = choice.get("payload") if isinstance(choice, dict) else None
    return payload if isinstance(payload, str) and payload.strip() else None


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
    remember_question(uow.session, message, action.reason,
                      conversation_language(uow.session, conversation),
                      best_score=action.best_score,
                      best_article_id=getattr(action, "best_article_id", None))
    uow.commit()


def _citation(citation: Any) -> dict[str, Any]:
    return {"article_id": citation.article_id, "version": citation.version,
            "title": citation.title, "url": citation.url}
