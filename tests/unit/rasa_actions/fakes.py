"""A fake of Comptoir's API for the custom actions: canned replies, every call recorded."""

from __future__ import annotations

from typing import Any

from bot.actions.comptoir_client import ComptoirUnavailable, FollowUp, KbAnswer, Order

OPENED = FollowUp(77, "#77")


class FakeComptoir:
    """Answers like Comptoir would; with ``down=True`` every call fails as if it were down."""

    def __init__(self, *, answer: KbAnswer | None = None, orders: tuple[Order, ...] = (),
                 follow_up: FollowUp = OPENED, down: bool = False) -> None:
        self.answer = answer
        self.orders = {order.number: order for order in orders}
        self.follow_up = follow_up
        self.down = down
        self.calls: list[tuple[Any, ...]] = []

    def kb_answer(self, question: str, language: str) -> KbAnswer:
        self._record("kb_answer", question, language)
        assert self.answer is not None, "give the fake the answer it should return"
        return self.answer

    def hand_off(self, conversation_id: str, reason: str, queue: str | None) -> None:
        self._record("hand_off", conversation_id, reason, queue)

    def open_follow_up(self, conversation_id: str, email: str, description: str) -> FollowUp:
        self._record("open_follow_up", conversation_id, email, description)
        return self.follow_up

    def order(self, number: str) -> Order | None:
        self._record("order", number)
        return self.orders.get(number)

    def _record(self, *call: Any) -> None:
        self.calls.append(call)
        if self.down:
            raise ComptoirUnavailable("GET http://comptoir.test/api/v1: no answer (refused)")
