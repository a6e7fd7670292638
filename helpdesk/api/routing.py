"""Routing inputs on a conversation: the skills an agent needs for it (docs/routing.md)."""

from __future__ import annotations

from typing import Any

from helpdesk.api.common import ID, ApiBlueprint, reload, staff_actor
from helpdesk.api.schemas import ConversationOut, RequiredSkillsIn
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import unit_of_work
from helpdesk.models import Conversation
from helpdesk.services import routing

blp = ApiBlueprint("api_routing", __name__, description="Routing: skills, capacity, presence")


@blp.route(f"/conversations/<{ID}:conversation_id>/required-skills", methods=["PUT"])
@blp.arguments(RequiredSkillsIn)
@blp.response(200, ConversationOut)
@requires(Permission.CONVERSATIONS_WRITE)
def set_required_skills(data: dict[str, Any], conversation_id: int) -> Conversation:
    """Replace the skills an agent needs for the conversation: a queue routing by
    ``skills`` gives it to the agent holding most of them first, then the least loaded."""
    with unit_of_work() as uow:
        routing.set_required_skills(uow, staff_actor(), conversation_id, data["skills"])
    return reload(Conversation, conversation_id)
