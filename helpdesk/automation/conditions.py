"""The rules' condition language: typed, stored as JSON, checked on save, evaluated on facts.

A rule's conditions are one group: ``{"all": [...]}`` (every item holds) or ``{"any":
[...]}`` (at least one); an item is a condition ``{"field", "op", "value"}`` or a nested
group. ``{"all": []}`` always holds. Text comparisons ignore case; ``matches`` is a regular
expression searched with a time limit (a runaway pattern counts as no match). The
negative operators are the exact opposite of their positive ones: ``customer_email
is_not x`` holds when none of the customer's addresses is ``x``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn, TypeVar

import regex

from helpdesk.errors import ValidationFailed
from helpdesk.models import Channel, ConversationStatus, Priority

log = logging.getLogger(__name__)

MAX_DEPTH = 3  # groups within groups
MAX_CONDITIONS = 50
MAX_VALUE = 500  # characters of a compared value
MAX_LIST = 100  # values of an ``in``
MAX_PATTERN = 200  # characters of a ``matches`` expression
MAX_SEARCHED = 20_000  # characters of a text a pattern is searched in
REGEX_TIMEOUT = 0.05  # seconds
C = TypeVar("C")
G = TypeVar("G")


class Field(StrEnum):
    CHANNEL = "channel"
    SUBJECT = "subject"
    BODY = "body"
    STATUS = "status"
    PRIORITY = "priority"
    QUEUE = "queue"
    TAGS = "tags"
    CUSTOMER_EMAIL = "customer_email"
    CUSTOMER_DOMAIN = "customer_domain"
    LANGUAGE = "language"


class Op(StrEnum):
    IS = "is"
    IS_NOT = "is_not"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    IN = "in"
    MATCHES = "matches"


NEGATED = {Op.IS_NOT: Op.IS, Op.NOT_CONTAINS: Op.CONTAINS}
TEXT_OPS = frozenset(Op)
CHOICE_OPS = frozenset({Op.IS, Op.IS_NOT, Op.IN})
OPERATORS: dict[Field, frozenset[Op]] = {
    Field.CHANNEL: CHOICE_OPS, Field.STATUS: CHOICE_OPS, Field.PRIORITY: CHOICE_OPS,
    Field.QUEUE: CHOICE_OPS, Field.TAGS: frozenset({Op.CONTAINS, Op.NOT_CONTAINS, Op.IN}),
    Field.SUBJECT: TEXT_OPS, Field.BODY: TEXT_OPS, Field.CUSTOMER_EMAIL: TEXT_OPS,
    Field.CUSTOMER_DOMAIN: TEXT_OPS, Field.LANGUAGE: frozenset({*CHOICE_OPS, Op.STARTS_WITH}),
}
CHOICES: dict[Field, frozenset[str]] = {
    Field.CHANNEL: frozenset(c.value for c in Channel),
    Field.STATUS: frozenset(s.value for s in ConversationStatus),
    Field.PRIORITY: frozenset(p.value for p in Priority),
}


@dataclass(frozen=True)
class Facts:
    """What conditions see of a conversation at one moment."""

    channel: str
    subject: str
    body: str  # the triggering message, else the customer's latest public one
    status: str
    priority: str
    queue_id: int | None
    tags: frozenset[str]
    customer_emails: tuple[str, ...]
    language: str | None

    def values(self, field: Field) -> list[Any]:
        """The field's values (one for most fields, any number for tags and addresses)."""
        if field == Field.TAGS:
            return sorted(self.tags)
        if field == Field.CUSTOMER_EMAIL:
            return list(self.customer_emails)
        if field == Field.CUSTOMER_DOMAIN:
            return [e.rpartition("@")[2] for e in self.customer_emails]
        if field == Field.QUEUE:
            return [self.queue_id]
        return [getattr(self, field.value)]


@dataclass(frozen=True)
class Condition:
    field: Field
    op: Op
    value: Any  # a string, a queue id (or None), or a list of them for ``in``
    pattern: regex.Pattern[str] | None = None

    def holds(self, facts: Facts) -> bool:
        positive = NEGATED.get(self.op, self.op)
        found = any(self._compare(positive, v) for v in facts.values(self.field))
        return not found if self.op in NEGATED else found

    def _compare(self, op: Op, actual: Any) -> bool:
        if op == Op.IN:
            return any(_same(actual, v) for v in self.value)
        if op == Op.IS or (op == Op.CONTAINS and self.field == Field.TAGS):
            return _same(actual, self.value)
        text = actual.casefold() if isinstance(actual, str) else ""
        if op == Op.CONTAINS:
            return self.value.casefold() in text
        if op == Op.STARTS_WITH:
            return text.startswith(self.value.casefold())
        return self._searched(actual or "")

    def _searched(self, text: str) -> bool:
        assert self.pattern is not None
        try:
            return self.pattern.search(text[:MAX_SEARCHED], timeout=REGEX_TIMEOUT) is not None
        except TimeoutError:
            log.warning("pattern %r timed out: taken as no match", self.pattern.pattern)
            return False


@dataclass(frozen=True)
class Group:
    mode: str  # "all" or "any"
    items: tuple[Condition | Group, ...]

    def holds(self, facts: Facts) -> bool:
        results = (item.holds(facts) for item in self.items)
        return all(results) if self.mode == "all" else any(results)

    @property
    def fields(self) -> frozenset[Field]:
        """The fields its conditions look at."""
        return frozenset().union(*(i.fields if isinstance(i, Group) else {i.field}
                                   for i in self.items))

    @property
    def size(self) -> int:
        """How many conditions it holds, nested groups included."""
        return sum(i.size if isinstance(i, Group) else 1 for i in self.items)


ALWAYS = Group("all", ())
Queues = frozenset[int] | None  # the ids a queue condition may name (None: unchecked)


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.casefold() == expected.casefold()
    return actual == expected


# --- reading and checking the JSON ---------------------------------------------------------

def parse(data: Any, queue_ids: Iterable[int] | None = None, *,
          path: str = "conditions") -> Group:
    """The conditions as a group, or ValidationFailed naming the bad part (``field`` is its
    path, e.g. ``conditions.all[1].value``). ``queue_ids``: the queues that exist (None:
    do not check, as for a stored rule whose queue was deleted since)."""
    if data in (None, {}):
        return ALWAYS
    known = None if queue_ids is None else frozenset(queue_ids)
    group = parse_tree(data, path, lambda item, where: _condition(item, where, known), Group)
    if group.size > MAX_CONDITIONS:
        fail(path, f"at most {MAX_CONDITIONS} conditions")
    return group


def to_json(group: Group) -> dict[str, Any]:
    """The stored form of parsed conditions."""
    return {group.mode: [to_json(i) if isinstance(i, Group) else
                         {"field": i.field.value, "op": i.op.value, "value": i.value}
                         for i in group.items]}


def parse_tree(data: Any, path: str, condition: Callable[[Any, str], C],
               group: Callable[[str, tuple[Any, ...]], G], *, depth: int = 1) -> G:
    """A group read from JSON: ``{"all": [...]}`` or ``{"any": [...]}`` of conditions and
    nested groups (at most ``MAX_DEPTH`` deep); ``condition(item, path)`` reads each
    condition and ``group(mode, items)`` builds each group. Shared with the customer
    segments' language (helpdesk.services.segments)."""
    if not isinstance(data, dict) or len(data) != 1 or next(iter(data)) not in ("all", "any"):
        fail(path, 'a group is {"all": [...]} or {"any": [...]}')
    if depth > MAX_DEPTH:
        fail(path, f"groups nest at most {MAX_DEPTH} deep")
    mode, items = next(iter(data.items()))
    if not isinstance(items, list):
        fail(f"{path}.{mode}", "must be a list")
    parsed = []
    for index, item in enumerate(items):
        where = f"{path}.{mode}[{index}]"
        if isinstance(item, dict) and ("all" in item or "any" in item):
            parsed.append(parse_tree(item, where, condition, group, depth=depth + 1))
        else:
            parsed.append(condition(item, where))
    return group(mode, tuple(parsed))


def _condition(data: Any, path: str, queue_ids: Queues) -> Condition:
    if not isinstance(data, dict) or set(data) != {"field", "op", "value"}:
        fail(path, 'a condition is {"field": ..., "op": ..., "value": ...}')
    field = member(Field, data["field"], f"{path}.field")
    op = member(Op, data["op"], f"{path}.op")
    if op not in OPERATORS[field]:
        allowed = ", ".join(sorted(o.value for o in OPERATORS[field]))
        fail(f"{path}.op", f"{field.value} takes {allowed}, not {op.value}")
    value = _value(field, op, data["value"], f"{path}.value", queue_ids)
    pattern = _pattern(value, f"{path}.value") if op == Op.MATCHES else None
    return Condition(field, op, value, pattern)


def _value(field: Field, op: Op, value: Any, path: str, queue_ids: Queues) -> Any:
    if op != Op.IN:
        return _scalar(field, value, path, queue_ids)
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        fail(path, f"in takes a list of 1 to {MAX_LIST} values")
    return [_scalar(field, v, f"{path}[{i}]", queue_ids) for i, v in enumerate(value)]


def _scalar(field: Field, value: Any, path: str, queue_ids: Queues) -> Any:
    if field == Field.QUEUE:
        return _queue(value, path, queue_ids)
    if not isinstance(value, str) or not value.strip():
        fail(path, "must be a non-empty text")
    if len(value) > MAX_VALUE:
        fail(path, f"at most {MAX_VALUE} characters")
    if field in CHOICES and value not in CHOICES[field]:
        fail(path, f"{value!r} is not one of {', '.join(sorted(CHOICES[field]))}")
    return value.strip().lower() if field == Field.TAGS else value


def _queue(value: Any, path: str, queue_ids: Queues) -> int | None:
    if value is None:
        return None  # "no queue"
    if isinstance(value, bool) or not isinstance(value, int):
        fail(path, "a queue is given by its id (or null: no queue)")
    if queue_ids is not None and value not in queue_ids:
        fail(path, f"queue {value} does not exist")
    return value


def _pattern(value: str, path: str) -> regex.Pattern[str]:
    if len(value) > MAX_PATTERN:
        fail(path, f"a pattern is at most {MAX_PATTERN} characters")
    try:
        return regex.compile(value, regex.IGNORECASE | regex.V0)
    except regex.error as exc:
        fail(path, f"not a valid regular expression: {exc}")


def member(enum: type[StrEnum], value: Any, path: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        fail(path, f"{value!r} is not one of {', '.join(m.value for m in enum)}")


def fail(path: str, message: str) -> NoReturn:
    raise ValidationFailed(f"{path}: {message}", field=path)
