"""The wallboard: every queue's waiting contacts, agents and service level, right now."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from helpdesk.api.common import ApiBlueprint
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db
from helpdesk.orm import utcnow
from helpdesk.services import wallboard

blp = ApiBlueprint("api_wallboard", __name__, description="The supervisors' wallboard")


class AgentCounts(Schema):
    online = fields.Integer(metadata={"description": "Online with room for more work"})
    busy = fields.Integer(metadata={"description": "Online and at capacity"})
    away = fields.Integer()
    offline = fields.Integer()


class QueueBoardOut(Schema):
    queue_id = fields.Integer()
    name = fields.String()
    waiting = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Contacts waiting for an agent, by channel (the queue's channels "
                       "always listed)"})
    waiting_total = fields.Integer()
    oldest_waiting_since = fields.DateTime(allow_none=True, metadata={
        "description": "Since when the longest-waiting contact waits; null when none waits"})
    longest_wait_seconds = fields.Integer(metadata={"description": "At generated_at"})
    agents = fields.Nested(AgentCounts, metadata={"description": "The queue's members"})
    answered_today = fields.Integer(metadata={
        "description": "First responses given today, in the queue's time zone"})
    answered_within_sla = fields.Integer()
    within_sla_percent = fields.Integer(allow_none=True, metadata={
        "description": "answered_within_sla in % of answered_today; null before the first"})
    abandoned_calls_today = fields.Integer(metadata={
        "description": "Callers who hung up before an agent answered, today"})
    calls_waiting = fields.Integer(metadata={
        "description": "Callers on hold in the telephony queue now (their missed calls "
                       "become phone contacts waiting)"})


class WallboardOut(Schema):
    generated_at = fields.DateTime()
    queues = fields.List(fields.Nested(QueueBoardOut), metadata={"description": "By name"})


def board_json() -> dict[str, Any]:
    """The wallboard now, as JSON (the API's answer, and what Socket.IO pushes)."""
    return WallboardOut().dump(wallboard.board(db.session, utcnow()))


@blp.route("/wallboard", methods=["GET"])
@blp.response(200, WallboardOut)
@requires(Permission.WALLBOARD_VIEW)
def get_wallboard() -> dict[str, Any]:
    """Every queue's live figures, as the wallboard shows them.

    Per queue: contacts waiting by channel, the longest wait, agents online, busy, away and
    offline, today's first responses within SLA, abandoned calls and calls on hold.
    """
    return wallboard.board(db.session, utcnow())
