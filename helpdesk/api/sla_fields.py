"""A conversation's SLA clocks as the API shows them (the ``sla`` of ``ConversationOut``).

Apart from the other schemas so that ``helpdesk.api.schemas`` can import it.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow.validate import OneOf

from helpdesk.extensions import db
from helpdesk.orm import utcnow
from helpdesk.services import sla

STATES = ["running", "at_risk", "paused", "met", "breached"]


class MetricClockOut(Schema):
    target_minutes = fields.Integer(metadata={
        "description": "Minutes of business time (wall-clock time without a calendar)"})
    state = fields.String(validate=OneOf(STATES), metadata={
        "description": "at_risk: past the policy's warning time; paused: the status pauses "
                       "the clocks, the conversation is solved, or the assistant has it"})
    due_at = fields.DateTime(allow_none=True, metadata={
        "description": "Null while paused (it moves with the pause)"})
    remaining_seconds = fields.Integer(allow_none=True, metadata={
        "description": "Business time left now; negative once overdue, null once met"})
    met_at = fields.DateTime(allow_none=True)


class SlaClockOut(Schema):
    policy = fields.String()
    calendar = fields.String(allow_none=True, metadata={
        "description": "The business-hours calendar; null: the clocks count every minute"})
    time_zone = fields.String()
    paused = fields.Boolean()
    breached = fields.Boolean()
    first_response = fields.Nested(MetricClockOut, allow_none=True)
    next_response = fields.Nested(MetricClockOut, allow_none=True, metadata={
        "description": "From the customer's first message after an agent's reply"})
    resolution = fields.Nested(MetricClockOut, allow_none=True)


class SlaField(fields.Nested):
    """The conversation's clocks now; null when no SLA policy applies to it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(SlaClockOut, allow_none=True, dump_only=True, metadata={
            "description": "SLA clocks; null when no policy applies"}, **kwargs)

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = None) -> Any:
        return sla.clock(db.session, obj.id, utcnow())
