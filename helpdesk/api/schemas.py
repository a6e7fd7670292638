"""Request and response schemas of the REST API.

Input schemas derive from ``StrictSchema``: an undeclared field is refused, not
ignored, so a typo never passes silently. Output schemas only dump.
"""

from __future__ import annotations

import re
import zoneinfo
from enum import StrEnum
from functools import cache
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema
from marshmallow.validate import Length, OneOf, Range, Regexp

from helpdesk.api.sla_fields import SlaField
from helpdesk.auth.policy import Permission
from helpdesk.models import (
    CONSENT_FLAGS,
    Channel,
    ConversationStatus,
    IdentityKind,
    Owner,
    Presence,
    Priority,
    Role,
    RoutingStrategy,
)
from helpdesk.services.conversations import MAX_BODY
from helpdesk.services.customers import EMAIL_RE
from helpdesk.services.queries import Sort

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
MAX_PAGE = 1_000_000
MAX_HTML = 5 * MAX_BODY  # markup around the text
MAX_MESSAGES = 500
CHANNELS = [c.value for c in Channel]
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
REASON_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_QUESTION = 2000


class StrictSchema(Schema):
    """Refuses any field it does not declare."""

    class Meta:
        unknown = RAISE


class PatchSchema(StrictSchema):
    """A partial update: every field optional, but at least one must be sent."""

    @validates_schema
    def _something_to_change(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("send at least one field to change")


def id_field(*, strict: bool = True, **kwargs: Any) -> fields.Integer:
    """A row id: a whole number in the database's range (``strict``: not a string)."""
    return fields.Integer(strict=strict, validate=Range(1, MAX_ID), **kwargs)


def text(max_length: int, *, min_length: int = 0, **kwargs: Any) -> fields.String:
    return fields.String(validate=Length(min=min_length, max=max_length), **kwargs)


def enum(enum_type: type[StrEnum], **kwargs: Any) -> fields.Enum:
    """An enum sent and returned by its value (``"open"``, not ``"OPEN"``)."""
    return fields.Enum(enum_type, by_value=True, **kwargs)


def flag(**kwargs: Any) -> fields.Boolean:
    """A JSON boolean: ``true`` or ``false``, not ``"yes"``."""
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


def filled(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be blank")


def known_timezone(name: str) -> None:
    if name not in _timezones():
        raise ValidationError("not an IANA time zone name such as Europe/Paris")


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _language() -> fields.String:
    return fields.String(allow_none=True, validate=[Length(max=16), Regexp(
        LANGUAGE_TAG, error="not a language tag such as fr or pt-BR")])


# --- pages --------------------------------------------------------------------------------

class PageArgs(StrictSchema):
    page = fields.Integer(load_default=1, validate=Range(1, MAX_PAGE))
    per_page = fields.Integer(validate=Range(min=1), metadata={
        "description": "Items per page; defaults to page_size, capped at max_page_size"})


class PageMeta(Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class Ref(Schema):
    id = fields.Integer()
    name = fields.String()


# --- customers ----------------------------------------------------------------------------

class NewIdentityIn(StrictSchema):
    kind = enum(IdentityKind, required=True)
    value = text(320, min_length=1, required=True)


class IdentityIn(NewIdentityIn):
    verified = flag(load_default=False)


class IdentityOut(Schema):
    id = fields.Integer()
    kind = enum(IdentityKind)
    value = fields.String()
    verified = fields.Boolean()
    created_at = fields.DateTime()


class IdentityRef(Schema):
    kind = enum(IdentityKind)
    value = fields.String()


class CustomerProfile(StrictSchema):
    name = text(200)
    language = _language()
    timezone = fields.String(allow_none=True, validate=known_timezone)
    attributes = fields.Dict(keys=text(64, min_length=1), validate=Length(max=100), metadata={
        "description": "Values by attribute key (GET /custom-fields?subject=customer), checked "
                       "against the definitions; null clears one, keys not sent are kept"})
    consents = fields.Dict(keys=fields.String(validate=OneOf(CONSENT_FLAGS)),
                           values=flag(allow_none=True), metadata={
                               "description": "true or false by flag, null: not asked; "
                                              "flags not sent are kept"})
    organisation_id = id_field(allow_none=True, metadata={
        "description": "The customer's organisation (null: none)"})


class CustomerIn(CustomerProfile):
    identities = fields.List(fields.Nested(NewIdentityIn), validate=Length(max=20),
                             load_default=list)


class CustomerPatch(CustomerProfile, PatchSchema):
    pass


class CustomerOut(Schema):
    id = fields.Integer()
    name = fields.String()
    display_name = fields.String()
    language = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    attributes = fields.Dict()
    consents = fields.Dict()
    identities = fields.List(fields.Nested(IdentityOut))
    organisation = fields.Nested(Ref, allow_none=True)
    merged_into_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CustomerQuery(PageArgs):
    q = text(200, metadata={"description": "Part of a name or of an identity value"})
    segment_id = id_field(strict=False, metadata={
        "description": "Only the customers of this segment (yours or a shared one)"})


class CustomerPage(Schema):
    items = fields.List(fields.Nested(CustomerOut))
    meta = fields.Nested(PageMeta)


class CustomerSummary(Schema):
    id = fields.Integer()
    name = fields.String(attribute="display_name")
    language = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    identities = fields.List(fields.Nested(IdentityRef))


class MergeIn(StrictSchema):
    source_id = id_field(required=True, metadata={
        "description": "The customer folded into this one (it is kept, marked merged)"})


class TimelineQuery(StrictSchema):
    cursor = text(200, metadata={"description": "next_cursor of the previous page"})
    limit = fields.Integer(validate=Range(min=1), metadata={
        "description": "Events per page; defaults to page_size, capped at max_page_size"})
    type = fields.List(text(64), metadata={"description": "Repeat to ask for several types"})
    channel = fields.String(validate=OneOf(CHANNELS))


class TimelineEventOut(Schema):
    id = fields.Integer()
    type = fields.String()
    channel = fields.String(allow_none=True)
    actor_kind = fields.String()
    actor_id = fields.Integer(allow_none=True)
    conversation_id = fields.Integer(allow_none=True)
    payload = fields.Dict()
    occurred_at = fields.DateTime()


class TimelinePage(Schema):
    items = fields.List(fields.Nested(TimelineEventOut))
    next_cursor = fields.String(allow_none=True, metadata={
        "description": "Pass as cursor for older events; null on the last page"})


# --- conversations and messages -----------------------------------------------------------

class ConversationQuery(PageArgs):
    status = fields.List(enum(ConversationStatus), metadata={
        "description": "Repeat for several statuses"})
    queue_id = id_field(strict=False)
    assignee_id = id_field(strict=False)
    unassigned = fields.Boolean()
    customer_id = id_field(strict=False)
    channel = enum(Channel)
    priority = enum(Priority)
    owner = enum(Owner)
    tag = text(64)
    segment_id = id_field(strict=False, metadata={
        "description": "Only the conversations of this segment's customers (yours or a "
                       "shared one)"})
    q = text(200, metadata={
        "description": "Full-text search in the subject and the messages: words, "
                       "\"a phrase\", a or b, -excluded (accents and case ignored)"})
    sort = enum(Sort, metadata={
        "description": "priority (most urgent, then latest activity), recent, oldest, "
                       "relevance (the best search match first); default: relevance when "
                       "searching, else priority"})


class FirstMessageIn(StrictSchema):
    body = text(MAX_BODY, min_length=1, required=True)
    html = text(MAX_HTML)
    author = fields.String(load_default="customer", validate=OneOf(["customer", "agent"]),
                           metadata={"description": "customer: their request, logged by "
                                                    "staff; agent: the caller writes first"})


class ConversationIn(StrictSchema):
    customer_id = id_field(required=True)
    channel = enum(Channel, required=True)
    subject = text(300, load_default="")
    queue_id = id_field(allow_none=True, load_default=None)
    priority = enum(Priority, load_default=Priority.NORMAL)
    first_message = fields.Nested(FirstMessageIn)


class ConversationPatch(PatchSchema):
    priority = enum(Priority)
    tags = fields.List(text(64, min_length=1), validate=Length(max=50),
                       metadata={"description": "The full set of tags (replaces the old one)"})
    custom_fields = fields.Dict(keys=text(64), validate=Length(max=100), metadata={
        "description": "Values by field key (see /custom-fields), checked against the "
                       "definitions; null clears one, fields not sent are kept"})


class AssignIn(StrictSchema):
    assignee_id = id_field(required=True, allow_none=True,
                           metadata={"description": "null hands it back to the queue"})
    queue_id = id_field(metadata={"description": "Move it to this queue as well"})


class StatusIn(StrictSchema):
    status = enum(ConversationStatus, required=True)


class RequiredSkillsIn(StrictSchema):
    skills = fields.List(text(64, min_length=1), required=True, validate=Length(max=20),
                         metadata={"description": "The full set, e.g. [\"fr\", \"billing\"] "
                                                  "(lower-cased; [] clears it)"})


class ConversationOut(Schema):
    id = fields.Integer()
    subject = fields.String()
    status = enum(ConversationStatus)
    priority = enum(Priority)
    channel = enum(Channel)
    owner = enum(Owner)
    customer = fields.Nested(CustomerSummary)
    queue = fields.Nested(Ref, allow_none=True)
    assignee = fields.Nested(Ref, allow_none=True)
    tags = fields.List(fields.String())
    custom_fields = fields.Dict()
    required_skills = fields.List(fields.String(), metadata={
        "description": "Skills routing looks for in agents (PUT …/required-skills)"})
    waiting_since = fields.DateTime(allow_none=True, metadata={
        "description": "When it last went to a queue to wait for an agent"})
    last_seq = fields.Integer(metadata={"description": "seq of the newest message"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    last_message_at = fields.DateTime(allow_none=True)
    first_response_at = fields.DateTime(allow_none=True)
    solved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    sla = SlaField()


class ConversationPage(Schema):
    items = fields.List(fields.Nested(ConversationOut))
    meta = fields.Nested(PageMeta)


class NoteIn(StrictSchema):
    body = text(MAX_BODY, min_length=1, required=True)
    client_id = text(64, min_length=1, metadata={
        "description": "Your id for this message: a retry with the same one is not stored twice"})


class ReplyIn(NoteIn):
    html = text(MAX_HTML, metadata={"description": "Rich version (sanitized when stored)"})


class MessagesQuery(StrictSchema):
    after_seq = fields.Integer(load_default=0, validate=Range(0, MAX_ID), metadata={
        "description": "Only messages after this seq (the last one you have)"})
    limit = fields.Integer(load_default=100, validate=Range(1, MAX_MESSAGES))


class AttachmentOut(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()


class MessageOut(Schema):
    id = fields.Integer()
    conversation_id = fields.Integer()
    seq = fields.Integer()
    author_kind = fields.String()
    author_id = fields.Integer(allow_none=True)
    body = fields.String()
    body_html = fields.String(allow_none=True)
    internal = fields.Boolean()
    channel = enum(Channel)
    client_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    attachments = fields.List(fields.Nested(AttachmentOut))


class MessageList(Schema):
    items = fields.List(fields.Nested(MessageOut))
    has_more = fields.Boolean(metadata={"description": "Ask again with the last seq"})


class HandoffIn(StrictSchema):
    reason = fields.String(required=True, validate=Regexp(
        REASON_CODE, error="not a reason code such as asked_for_human"), metadata={
            "description": "Why, as a code the agents see explained: asked_for_human, "
                           "low_confidence, no_articles, unhelpful_streak, marked_unhelpful "
                           "(or your own)"})
    queue = text(100, min_length=1, allow_none=True, load_default=None, metadata={
        "description": "The name of the queue to hand it to; default: the site's queue"})


class FollowUpIn(StrictSchema):
    email = fields.String(required=True, validate=[
        Length(max=320), Regexp(EMAIL_RE, error="not an email address")], metadata={
            "description": "The customer's address: the follow-up is theirs (created when "
                           "unknown) and answered by email"})
    description = fields.String(required=True, validate=[Length(1, MAX_BODY), filled],
                                metadata={"description": "What happened, in the customer's "
                                                         "words: the first message"})
    subject = text(300, metadata={"description": "Default: the description's first line"})


class FollowUpOut(Schema):
    id = fields.Integer(metadata={"description": "The new email conversation"})
    reference = fields.String(metadata={"description": "How to name it to the customer"})


# --- what an assistant looks up (Rasa's custom actions) -----------------------------------

class AnswerArgs(StrictSchema):
    q = fields.String(required=True, validate=[Length(1, MAX_QUESTION), filled],
                      metadata={"description": "The customer's question"})
    lang = fields.String(validate=[Length(max=16), Regexp(
        LANGUAGE_TAG, error="not a language tag such as fr or pt-BR")], metadata={
            "description": "Only articles in this language (default: any)"})


class CitationOut(Schema):
    article_id = fields.Integer()
    version = fields.Integer(metadata={"description": "The version the answer comes from"})
    title = fields.String()
    url = fields.String(metadata={"description": "The article in the help centre (a path)"})


class KnowledgeAnswerOut(Schema):
    answered = fields.Boolean(metadata={"description": "false: hand over instead"})
    text = fields.String(allow_none=True, metadata={
        "description": "A short reply taken from the article"})
    confidence = fields.Float(allow_none=True, metadata={
        "description": "The calibrated confidence in the best article (null: no search ran "
                       "or nothing was found)"})
    citation = fields.Nested(CitationOut, allow_none=True)
    reason = fields.String(allow_none=True, metadata={
        "description": "Why not answered: low_confidence, no_articles or asked_for_human"})


class OrderItemOut(Schema):
    name = fields.String()
    quantity = fields.Integer()


class OrderOut(Schema):
    number = fields.String()
    status = fields.String(metadata={"description": "e.g. processing, shipped, delivered"})
    status_text = fields.String(allow_none=True, metadata={"description": "For the customer"})
    carrier = fields.String(allow_none=True)
    tracking_url = fields.String(allow_none=True)
    expected_delivery = fields.String(allow_none=True, metadata={"format": "date"})
    items = fields.List(fields.Nested(OrderItemOut))


# --- queues -------------------------------------------------------------------------------

class QueueFields(StrictSchema):
    name = text(100, min_length=1)
    description = text(500)
    channels = fields.List(fields.String(validate=OneOf(CHANNELS)))
    routing_strategy = enum(RoutingStrategy)
    business_hours_id = id_field(allow_none=True)
    sla_policy_id = id_field(allow_none=True)
    overflow_queue_id = id_field(allow_none=True, metadata={
        "description": "Waiting conversations move there after overflow_after_seconds"})
    overflow_after_seconds = fields.Integer(strict=True, allow_none=True, validate=Range(
        1, 7 * 24 * 3600), metadata={"description": "Counted from when the customer began "
                                                    "waiting; set with overflow_queue_id"})
    channel_weights = fields.Dict(
        keys=fields.String(validate=OneOf(CHANNELS)),
        values=fields.Float(validate=Range(0, 100)),
        metadata={"description": "least_loaded: what one open item of a channel weighs "
                                 "(defaults: chat and phone 1, others 0.2)"})
    member_ids = fields.List(id_field(), validate=Length(max=500),
                             metadata={"description": "The full set of members"})


class QueueIn(QueueFields):
    name = text(100, min_length=1, required=True)


class QueuePatch(QueueFields, PatchSchema):
    pass


class QueueOut(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    channels = fields.List(fields.String())
    routing_strategy = enum(RoutingStrategy)
    business_hours_id = fields.Integer(allow_none=True)
    sla_policy_id = fields.Integer(allow_none=True)
    overflow_queue_id = fields.Integer(allow_none=True)
    overflow_after_seconds = fields.Integer(allow_none=True)
    channel_weights = fields.Dict()
    member_ids = fields.List(fields.Integer())
    created_at = fields.DateTime()


class QueuePage(Schema):
    items = fields.List(fields.Nested(QueueOut))
    meta = fields.Nested(PageMeta)


# --- staff users and tokens ---------------------------------------------------------------

class UserFields(StrictSchema):
    name = text(200)
    role = enum(Role)
    locale = _language()
    capacity = fields.Dict(keys=fields.String(validate=OneOf(CHANNELS)),
                           values=fields.Integer(strict=True, validate=Range(0, 1000)),
                           metadata={"description": "Simultaneous conversations per channel"})
    skills = fields.List(text(64, min_length=1), validate=Length(max=50))
    active = flag()
    password = text(200, load_only=True, metadata={"description": "At least 10 characters"})


class UserIn(UserFields):
    email = text(320, required=True)
    name = text(200, load_default="", metadata={"description": "Defaults to the email"})
    role = enum(Role, required=True)
    password = text(200, required=True, load_only=True)


class UserPatch(UserFields, PatchSchema):
    pass


class UserOut(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = enum(Role)
    locale = fields.String(allow_none=True)
    presence = enum(Presence)
    capacity = fields.Dict()
    skills = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.DateTime()
    last_seen_at = fields.DateTime(allow_none=True)


class UserQuery(PageArgs):
    role = enum(Role)
    active = fields.Boolean()


class UserPage(Schema):
    items = fields.List(fields.Nested(UserOut))
    meta = fields.Nested(PageMeta)


class PresenceIn(StrictSchema):
    presence = enum(Presence, required=True)


class TokenIn(StrictSchema):
    name = text(100, min_length=1, required=True)
    scopes = fields.List(enum(Permission), required=True, validate=Length(min=1), metadata={
        "description": "What the token may do (within its user's role)"})
    expires_at = fields.AwareDateTime(allow_none=True, load_default=None)


class TokenOut(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String(metadata={"description": "The secret's first characters"})
    scopes = fields.List(fields.String())
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class IssuedToken(Schema):
    token = fields.Nested(TokenOut)
    secret = fields.String(metadata={"description": "Shown once: only its hash is kept"})


class TokenList(Schema):
    items = fields.List(fields.Nested(TokenOut))
