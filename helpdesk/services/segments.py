"""Customer segments: saved filters over customers' attributes and behaviour, personal (their
owner alone sees and manages them) or shared (everyone sees them; ``segments:manage``
manages them). Conversation lists, saved views, the customers list and reports filter by
them through ``member_ids``.

The conditions are JSON, checked when saved and compiled to SQL when used. A group is
``{"all": [...]}`` or ``{"any": [...]}`` (nested at most three deep, as the automation
rules' language, helpdesk.automation.conditions); a condition is
``{"field", "op", "value"}``, plus ``"key"`` (an attribute or consent flag) or ``"days"``
(a window back from now) for the fields that take them:

- ``language``, ``timezone``: ``is``, ``is_not``, ``in``, ``starts_with``, ``exists``;
- ``attribute`` (``key``): ``is``, ``is_not``, ``in``, ``contains``, ``starts_with``,
  ``exists`` (values compared as text, ignoring case: a checkbox is ``true`` or ``false``);
- ``consent`` (``key``: a consent flag): ``is`` true or false (never given counts as false);
- ``email_domain``: ``is``, ``is_not``, ``in`` (one of their addresses is at the domain);
- ``contacts`` (``days`` required): conversations opened in the window, ``is``,
  ``is_not``, ``gt``, ``gte``, ``lt``, ``lte`` a whole number;
- ``last_csat``: the rating of their latest rated conversation, compared the same way
  (never rated: only ``is_not`` holds);
- ``open_conversation``: ``is`` true or false (one not solved or closed);
- ``channel_used`` (``days`` optional): ``is``, ``is_not``, ``in`` a channel they opened a
  conversation on.

``is_not`` is the exact opposite of ``is``: ``language is_not fr`` holds for customers
without a language too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from helpdesk import events
from helpdesk.automation.conditions import MAX_CONDITIONS, fail, member, parse_tree
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    CONSENT_FLAGS,
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    Identity,
    IdentityKind,
    SavedView,
    Segment,
)
from helpdesk.orm import utcnow
from helpdesk.services.common import get_or_404, unique_in_scope
from helpdesk.uow import UnitOfWork

MAX_DESCRIPTION = 500
MAX_TEXT = 200
MAX_LIST = 100
MAX_DAYS = 3650
MAX_COUNT = 100_000
KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
SHARED_REFUSED = "only supervisors and admins manage shared segments (segments:manage)"
OPEN_STATUSES = (ConversationStatus.NEW, ConversationStatus.OPEN, ConversationStatus.PENDING,
                 ConversationStatus.ON_HOLD)


class Field(StrEnum):
    LANGUAGE = "language"
    TIMEZONE = "timezone"
    ATTRIBUTE = "attribute"
    CONSENT = "consent"
    EMAIL_DOMAIN = "email_domain"
    CONTACTS = "contacts"
    LAST_CSAT = "last_csat"
    OPEN_CONVERSATION = "open_conversation"
    CHANNEL_USED = "channel_used"


class Op(StrEnum):
    IS = "is"
    IS_NOT = "is_not"
    IN = "in"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    EXISTS = "exists"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"


COMPARISONS: dict[Op, Callable[[Any, Any], ColumnElement[bool]]] = {
    Op.IS: lambda a, b: a == b, Op.GT: lambda a, b: a > b, Op.GTE: lambda a, b: a >= b,
    Op.LT: lambda a, b: a < b, Op.LTE: lambda a, b: a <= b}


# --- the language: each field's operators, value and extras --------------------------------

def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        fail(path, "must be a non-empty text")
    if len(value) > MAX_TEXT:
        fail(path, f"at most {MAX_TEXT} characters")
    return value.strip().lower()


def _whole(low: int, high: int) -> Callable[[Any, str], int]:
    def check(value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            fail(path, f"must be a whole number from {low} to {high}")
        return value
    return check


def _flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        fail(path, "must be true or false")
    return value


def _channel(value: Any, path: str) -> str:
    return member(Channel, value, path).value


def _domain(value: Any, path: str) -> str:
    domain = _text(value, path).removeprefix("@")
    if not DOMAIN.match(domain):
        fail(path, f"{value!r} is not an email domain such as shop.example")
    return domain


@dataclass(frozen=True)
class Spec:
    """What a field accepts: its operators, the check of a value (``flag`` for ``exists``),
    whether it needs a ``key`` (from ``keys`` when given) and takes ``days``."""

    ops: frozenset[Op]
    value: Callable[[Any, str], Any]
    key: bool = False
    keys: tuple[str, ...] = ()
    days: str = ""  # "required", "optional" or "" (not taken)


TEXT_OPS = frozenset({Op.IS, Op.IS_NOT, Op.IN, Op.STARTS_WITH, Op.EXISTS})
NUMBER_OPS = frozenset({Op.IS, Op.IS_NOT, Op.GT, Op.GTE, Op.LT, Op.LTE})
CHOICE_OPS = frozenset({Op.IS, Op.IS_NOT, Op.IN})
SPECS: dict[Field, Spec] = {
    Field.LANGUAGE: Spec(TEXT_OPS, _text),
    Field.TIMEZONE: Spec(TEXT_OPS, _text),
    Field.ATTRIBUTE: Spec(TEXT_OPS | {Op.CONTAINS}, _text, key=True),
    Field.CONSENT: Spec(frozenset({Op.IS}), _flag, key=True, keys=CONSENT_FLAGS),
    Field.EMAIL_DOMAIN: Spec(CHOICE_OPS, _domain),
    Field.CONTACTS: Spec(NUMBER_OPS, _whole(0, MAX_COUNT), days="required"),
    Field.LAST_CSAT: Spec(NUMBER_OPS, _whole(1, 5)),
    Field.OPEN_CONVERSATION: Spec(frozenset({Op.IS}), _flag),
    Field.CHANNEL_USED: Spec(CHOICE_OPS, _channel, days="optional"),
}


@dataclass(frozen=True)
class Condition:
    field: Field
    op: Op
    value: Any  # checked by the field's spec; a list of them for ``in``
    key: str | None = None
    days: int | None = None

    @property
    def size(self) -> int:
        return 1

    def clause(self, now: datetime) -> ColumnElement[bool]:
        """The SQL condition on ``customers`` (``is_not``: the null-safe opposite of is)."""
        if self.op == Op.IS_NOT:
            positive = COMPILERS[self.field](Condition(self.field, Op.IS, self.value,
                                                       self.key, self.days), now)
            return not_(func.coalesce(positive, false()))
        return COMPILERS[self.field](self, now)

    def to_json(self) -> dict[str, Any]:
        extras = {"key": self.key, "days": self.days}
        return {"field": self.field.value, "op": self.op.value, "value": self.value,
                **{name: value for name, value in extras.items() if value is not None}}


@dataclass(frozen=True)
class Group:
    mode: str  # "all" or "any"
    items: tuple[Condition | Group, ...]

    @property
    def size(self) -> int:
        return sum(item.size for item in self.items)

    def clause(self, now: datetime) -> ColumnElement[bool]:
        if not self.items:
            return true() if self.mode == "all" else false()
        clauses = [item.clause(now) for item in self.items]
        return and_(*clauses) if self.mode == "all" else or_(*clauses)

    def to_json(self) -> dict[str, Any]:
        return {self.mode: [item.to_json() for item in self.items]}


def parse(data: Any, *, path: str = "conditions") -> Group:
    """The conditions as a group, or ValidationFailed naming the bad part (``field`` is its
    path, e.g. ``conditions.all[1].days``)."""
    group = parse_tree(data, path, _condition, Group)
    if group.size > MAX_CONDITIONS:
        fail(path, f"at most {MAX_CONDITIONS} conditions")
    return group


def _condition(data: Any, path: str) -> Condition:
    if not isinstance(data, dict) or not {"field", "op", "value"} <= set(data):
        fail(path, 'a condition is {"field": ..., "op": ..., "value": ...}')
    field = member(Field, data["field"], f"{path}.field")
    spec = SPECS[field]
    taken = {"field", "op", "value"} | ({"key"} if spec.key else set()) | (
        {"days"} if spec.days else set())
    for extra in sorted(set(data) - taken):
        fail(f"{path}.{extra}", f"{field.value} takes no {extra}")
    op = member(Op, data["op"], f"{path}.op")
    if op not in spec.ops:
        fail(f"{path}.op", f"{field.value} takes {', '.join(sorted(spec.ops))}, not {op.value}")
    return Condition(field, op, _value(spec, op, data["value"], f"{path}.value"),
                     _key(spec, data.get("key"), f"{path}.key") if spec.key else None,
                     _days(spec, data.get("days"), f"{path}.days"))


def _value(spec: Spec, op: Op, value: Any, path: str) -> Any:
    if op == Op.EXISTS:
        return _flag(value, path)
    if op != Op.IN:
        return spec.value(value, path)
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        fail(path, f"in takes a list of 1 to {MAX_LIST} values")
    return [spec.value(v, f"{path}[{i}]") for i, v in enumerate(value)]


def _key(spec: Spec, key: Any, path: str) -> str:
    if not isinstance(key, str) or not KEY.match(key):
        fail(path, "must be a key of letters, digits, _ . or - (at most 64)")
    if spec.keys and key not in spec.keys:
        fail(path, f"{key!r} is not one of {', '.join(spec.keys)}")
    return key


def _days(spec: Spec, days: Any, path: str) -> int | None:
    if days is None and spec.days != "required":
        return None
    if days is None:
        fail(path, "the window, in days back from now, is required")
    return _whole(1, MAX_DAYS)(days, path)


# --- compiling to SQL ------------------------------------------------------------------------

class attribute_text(FunctionElement[str]):  # lower case: an SQL function
    """``attribute_text(column, key)``: a JSON object's value at ``key`` as text, the same on
    every database (``true``/``false`` for booleans, which SQLite reads as 1 and 0)."""

    type = String()
    name = "attribute_text"
    inherit_cache = True


@compiles(attribute_text, "postgresql")
def _attribute_text_postgresql(element: attribute_text, compiler: Any, **kw: Any) -> str:
    column, key = element.clauses
    return f"({compiler.process(column, **kw)} ->> {compiler.process(key, **kw)})"


@compiles(attribute_text, "sqlite")
def _attribute_text_sqlite(element: attribute_text, compiler: Any, **kw: Any) -> str:
    column, key = (compiler.process(c, **kw) for c in element.clauses)
    path = f"'$.\"' || {key} || '\"'"
    return (f"CASE json_type({column}, {path}) WHEN 'true' THEN 'true' "
            f"WHEN 'false' THEN 'false' ELSE json_extract({column}, {path}) END")


def _text_clause(expression: Any, op: Op, value: Any) -> ColumnElement[bool]:
    if op == Op.EXISTS:
        return expression.is_not(None) if value else expression.is_(None)
    lowered = func.lower(expression)
    if op == Op.IN:
        return lowered.in_(value)
    if op == Op.CONTAINS:
        return lowered.contains(value, autoescape=True)
    if op == Op.STARTS_WITH:
        return lowered.startswith(value, autoescape=True)
    return lowered == value


def _customers_with(c: Condition, now: datetime, *where: Any) -> Select:
    """The ids of the customers with a conversation matching ``where`` (opened within the
    condition's days, when it has some). Uncorrelated: computed once, not per customer."""
    query = select(Conversation.customer_id).where(*where)
    if c.days is not None:
        query = query.where(Conversation.created_at >= now - timedelta(days=c.days))
    return query


def _contacts(c: Condition, now: datetime) -> ColumnElement[bool]:
    """Customers whose count of conversations holds; when no conversation at all holds too
    (``lt 3``), the customers whose count does not hold are left out instead."""
    counted = _customers_with(c, now).group_by(Conversation.customer_id)
    holds = COMPARISONS[c.op](func.count(Conversation.id), c.value)
    if COMPARISONS[c.op](0, c.value):
        return Customer.id.not_in(counted.having(not_(holds)))
    return Customer.id.in_(counted.having(holds))


def _last_csat(c: Condition, now: datetime) -> ColumnElement[bool]:
    latest = (select(func.max(Conversation.id)).where(Conversation.csat_rating.is_not(None))
              .group_by(Conversation.customer_id))
    return Customer.id.in_(select(Conversation.customer_id).where(
        Conversation.id.in_(latest), COMPARISONS[c.op](Conversation.csat_rating, c.value)))


def _open_conversation(c: Condition, now: datetime) -> ColumnElement[bool]:
    having_one = Customer.id.in_(_customers_with(
        c, now, Conversation.status.in_(OPEN_STATUSES)))
    return having_one if c.value else not_(having_one)


def _channel_used(c: Condition, now: datetime) -> ColumnElement[bool]:
    channels = c.value if c.op == Op.IN else [c.value]
    return Customer.id.in_(_customers_with(c, now, Conversation.channel.in_(channels)))


def _email_domain(c: Condition, now: datetime) -> ColumnElement[bool]:
    domains = c.value if c.op == Op.IN else [c.value]
    return Customer.id.in_(select(Identity.customer_id).where(
        Identity.kind == IdentityKind.EMAIL,
        or_(*[func.lower(Identity.value).endswith(f"@{d}", autoescape=True)
              for d in domains])))


def _consent(c: Condition, now: datetime) -> ColumnElement[bool]:
    given = func.coalesce(Customer.consents[c.key].as_boolean(), false())
    return given if c.value else not_(given)


COMPILERS: dict[Field, Callable[[Condition, datetime], ColumnElement[bool]]] = {
    Field.LANGUAGE: lambda c, _now: _text_clause(Customer.language, c.op, c.value),
    Field.TIMEZONE: lambda c, _now: _text_clause(Customer.timezone, c.op, c.value),
    Field.ATTRIBUTE: lambda c, _now: _text_clause(
        attribute_text(Customer.attributes, literal(c.key)), c.op, c.value),
    Field.CONSENT: _consent,
    Field.EMAIL_DOMAIN: _email_domain,
    Field.CONTACTS: _contacts,
    Field.LAST_CSAT: _last_csat,
    Field.OPEN_CONVERSATION: _open_conversation,
    Field.CHANNEL_USED: _channel_used,
}


# --- reading ---------------------------------------------------------------------------------

def member_ids(session: Session, segment_id: int) -> Select:
    """A SELECT of the ids of the segment's customers now (merged-away ones excluded), for
    ``Customer.id.in_(...)`` or ``Conversation.customer_id.in_(...)``; NotFound naming
    ``segment_id`` when it does not exist."""
    segment = get_or_404(session, Segment, segment_id, field="segment_id")
    return matching_ids(parse(segment.conditions))


def matching_ids(conditions: Group) -> Select:
    """A SELECT of the ids of the live customers matching ``conditions`` now."""
    return select(Customer.id).where(Customer.merged_into_id.is_(None),
                                     conditions.clause(utcnow()))


def count_matching(session: Session, conditions: Group) -> int:
    """How many customers match (the segment form's preview, the segments' counts)."""
    return session.scalar(select(func.count()).select_from(
        matching_ids(conditions).subquery())) or 0


def count_members(session: Session, segment: Segment) -> int:
    return count_matching(session, parse(segment.conditions))


def visible_segments(session: Session, user_id: int) -> list[Segment]:
    """The shared segments, then the user's own, each by name."""
    return list(session.scalars(
        select(Segment).where(or_(Segment.owner_id.is_(None), Segment.owner_id == user_id))
        .order_by(Segment.owner_id.is_not(None), Segment.name, Segment.id)))


def visible_segment(session: Session, user_id: int, segment_id: int) -> Segment:
    """One segment the user sees; another's personal segment does not exist for them."""
    segment = session.get(Segment, segment_id)
    if segment is None or not (segment.shared or segment.owner_id == user_id):
        raise NotFound(f"segment {segment_id} does not exist", field="segment_id")
    return segment


# --- writing ---------------------------------------------------------------------------------

def create_segment(uow: UnitOfWork, actor: Actor, *, name: str, conditions: Any,
                   description: str = "", shared: bool = False,
                   may_share: bool = False) -> Segment:
    """Save a segment for the actor, or for everyone (``shared``: needs ``may_share``)."""
    if shared and not may_share:
        raise PermissionDenied(SHARED_REFUSED, field="shared")
    segment = Segment(owner_id=None if shared else actor.id)
    _apply(uow.session, segment, name=name, description=description, conditions=conditions)
    uow.session.add(segment)
    uow.session.flush()
    _audit(uow, actor, "segment.created", segment)
    uow.commit()
    return segment


def update_segment(uow: UnitOfWork, actor: Actor, segment_id: int, *,
                   name: str | None = None, description: str | None = None,
                   conditions: Any = None, may_share: bool = False) -> Segment:
    """Rename it, describe it, or replace its conditions."""
    segment = _managed(uow.session, actor, segment_id, may_share)
    _apply(uow.session, segment, name=name, description=description, conditions=conditions)
    _audit(uow, actor, "segment.updated", segment)
    uow.commit()
    return segment


def delete_segment(uow: UnitOfWork, actor: Actor, segment_id: int, *,
                   may_share: bool = False) -> None:
    """Delete it, unless saved views filter by it (they would show nothing sensible)."""
    segment = _managed(uow.session, actor, segment_id, may_share)
    users = sorted(view.name for view in uow.session.scalars(select(SavedView))
                   if view.filters.get("segment_id") == segment.id)
    if users:
        raise Conflict(f"saved views filter by this segment: {', '.join(users)}; change "
                       "them first", field="segment_id")
    _audit(uow, actor, "segment.deleted", segment)
    uow.session.delete(segment)
    uow.commit()


def check_usable(session: Session, segment_id: int, owner_id: int | None) -> None:
    """A filter saved for ``owner_id`` (None: shared with everyone) may use the segment: a
    shared one, or that owner's own."""
    segment = session.get(Segment, segment_id)
    if segment is None or not (segment.shared or segment.owner_id == owner_id):
        what = "a shared view uses shared segments only" if owner_id is None else (
            "it is not a shared segment nor one of yours")
        raise ValidationFailed(f"segment {segment_id}: {what}", field="filters.segment_id")


def _managed(session: Session, actor: Actor, segment_id: int, may_share: bool) -> Segment:
    segment = visible_segment(session, actor.id or 0, segment_id)
    if segment.shared and not may_share:
        raise PermissionDenied(SHARED_REFUSED, field="segment_id")
    return segment


def _apply(session: Session, segment: Segment, *, name: str | None,
           description: str | None, conditions: Any) -> None:
    if name is not None:
        segment.name = unique_in_scope(session, segment, name, label="segment")
    if description is not None:
        if len(description.strip()) > MAX_DESCRIPTION:
            raise ValidationFailed(f"at most {MAX_DESCRIPTION} characters", field="description")
        segment.description = description.strip()
    if conditions is not None:
        segment.conditions = parse(conditions).to_json()


def _audit(uow: UnitOfWork, actor: Actor, action: str, segment: Segment) -> None:
    uow.record(events.StaffChanged(actor=actor, action=action, target_type="segment",
                                   target_id=segment.id, details={
                                       "name": segment.name, "shared": segment.shared,
                                       "conditions": segment.conditions}))
