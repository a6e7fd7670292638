"""The assistant's seam: an ``Engine`` turns a customer message into actions.

The transport (live chat, later e-mail) only knows this interface: the built-in
knowledge-base engine (``bot.kb_engine``) is the default, and another one (Rasa) plugs in
without touching the transport.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Protocol

from bot.responses import Action


@dataclass(frozen=True)
class BotThresholds:
    """When the assistant answers, offers choices or hands over (``bot_*`` settings).

    ``min_confidence`` None means: the line calibrated on the knowledge base itself.
    """

    min_confidence: float | None = None
    clarify_margin: float = 1.0
    max_unhelpful: int = 2

    def overridden(self, site: SiteThresholds | None) -> BotThresholds:
        """These thresholds with a site's own values where it sets them."""
        if site is None:
            return self
        changes = {f.name: getattr(site, f.name) for f in fields(site)
                   if getattr(site, f.name) is not None}
        return replace(self, **changes)


@dataclass(frozen=True)
class SiteThresholds:
    """A site's overrides of the defaults; None keeps the default."""

    min_confidence: float | None = None
    clarify_margin: float | None = None
    max_unhelpful: int | None = None


@dataclass(frozen=True)
class BotContext:
    """What the engine knows of the conversation besides the message.

    ``unhelpful_streak``: the assistant's answers in a row the customer followed with
    another question instead of thanks; ``marked_unhelpful``: the customer pressed
    "not helpful" on the last answer. The conversation state machine keeps both.
    ``payload``: the payload of the quick reply the customer pressed, when they did (a
    dialogue engine such as Rasa gets it instead of the button's title).
    """

    conversation_id: int | None = None
    language: str | None = None
    unhelpful_streak: int = 0
    marked_unhelpful: bool = False
    thresholds: SiteThresholds | None = None
    payload: str | None = None


class Engine(Protocol):
    def respond(self, context: BotContext, message: str) -> list[Action]:
        """The actions to take for ``message``, in order. The built-in engine always takes
        one; a dialogue engine (Rasa) may take none: it chose to say nothing."""
        ...
