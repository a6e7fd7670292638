"""What an outside assistant looks up (Rasa's custom actions): the knowledge base's answer
to a question, and an order's status from the shop's own system."""

from __future__ import annotations

from typing import Any

from bot.engine import BotContext
from bot.responses import Answer, Escalate
from bot.service import assistant
from helpdesk.api.common import ApiBlueprint
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import AnswerArgs, KnowledgeAnswerOut, OrderOut
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.integrations.orders import find_order

blp = ApiBlueprint("api_assistant", __name__,
                   description="What an outside assistant (Rasa) looks up")


@blp.route("/kb/answer", methods=["GET"])
@blp.arguments(AnswerArgs, location="query")
@blp.response(200, KnowledgeAnswerOut)
@blp.alt_response(503, schema=ErrorSchema, description="The search index needs a reindex")
@requires(Permission.KNOWLEDGE_READ)
def answer_question(args: dict[str, Any]) -> dict[str, Any]:
    """The built-in assistant's decision on one question: an answer from the best public
    article, cited, when its calibrated confidence is high enough; else why not.

    Where a chat would offer close articles as choices, the best one answers.
    """
    context = BotContext(language=args.get("lang"))
    return _answer_body(assistant().engine.answer_or_escalate(context, args["q"]))


@blp.route("/orders/<string:number>", methods=["GET"])
@blp.response(200, OrderOut)
@blp.alt_response(422, schema=ErrorSchema, description="Not an order number")
@blp.alt_response(502, schema=ErrorSchema, description="The shop's order system failed")
@requires(Permission.CONVERSATIONS_READ)
def get_order(number: str) -> dict[str, Any]:
    """An order's status, from the ``order_lookup`` integration hook (the demo's sample
    knows A1001, A1002 and A1003)."""
    return find_order(number)


def _answer_body(action: Answer | Escalate) -> dict[str, Any]:
    if isinstance(action, Answer):
        return {"answered": True, "text": action.text, "confidence": action.confidence,
                "citation": action.citation, "reason": None}
    return {"answered": False, "text": None, "confidence": action.best_score,
            "citation": None, "reason": action.reason}
