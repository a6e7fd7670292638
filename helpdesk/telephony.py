"""Phone numbers and a call's state, computed from its CTI events (no database here).

PBXs deliver webhooks late, twice and out of order. A call's state is therefore never
updated event by event: it is derived from all the call's events sorted by their own
timestamps (then by the stage of a call's life they belong to), so whatever order they
arrived in, the same events give the same state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from helpdesk.models.call import CallEventKind, CallStatus

K = CallEventKind
T = TypeVar("T")
WITHHELD = frozenset({"anonymous", "withheld", "private", "unknown", "restricted",
                      "unavailable"})
URI_SCHEME = re.compile(r"^(?:sips?|tel):", re.IGNORECASE)
SEPARATORS = re.compile(r"[\s().\-/]")
NUMBER = re.compile(r"^\+?[0-9]{2,20}$")
NATIONAL = re.compile(r"^0[1-9][0-9]+$")
STAGE = {kind: n for n, kind in enumerate(CallEventKind)}
TERMINAL = frozenset({K.VOICEMAIL, K.MISSED, K.ENDED})
WAITING = frozenset({CallStatus.QUEUED, CallStatus.RINGING})
UNANSWERED = frozenset({CallStatus.MISSED, CallStatus.VOICEMAIL})


def normalize_number(raw: str, country_code: str = "") -> str | None:
    """A number in E.164 form as far as it can be told: ``"+33 6 12-34-56-78"``,
    ``"0033612345678"`` and ``"sip:+33612345678@pbx"`` all give ``"+33612345678"``; a
    national number (``"0612345678"``) takes ``country_code`` when one is configured.

    None for a withheld number (``anonymous``, ``private``…). ValueError when it is not a
    number at all.
    """
    value = raw.strip()
    if value.lower() in WITHHELD:
        return None
    value = URI_SCHEME.sub("", value).split("@")[0].split(";")[0]
    value = SEPARATORS.sub("", value)
    if value.startswith("00"):
        value = "+" + value[2:]
    elif country_code and NATIONAL.match(value):
        value = f"+{country_code}{value[1:]}"
    if not NUMBER.match(value):
        raise ValueError(f"{raw!r} is not a phone number")
    return value


def idempotency_key(kind: CallEventKind, occurred_at: datetime) -> str:
    """What makes a second copy of an event a retry: its kind, once per call; a transfer can
    happen several times in a call, so its timestamp counts too."""
    if kind == K.TRANSFERRED:
        return f"{kind.value}@{occurred_at.isoformat()}"
    return kind.value


class EventFacts(Protocol):
    """What the state needs of one event (a stored CallEvent is one)."""

    kind: CallEventKind
    occurred_at: datetime
    agent_id: int | None
    queue_id: int | None
    recording_url: str


@dataclass(frozen=True)
class CallState:
    status: CallStatus
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    waited_until: datetime | None  # answered, or given up on (missed, voicemail, hung up)
    agent_id: int | None  # the last agent the call reached (rang, answered, transferred to)
    queue_id: int | None
    recording_url: str

    @property
    def wait_seconds(self) -> int | None:
        return _seconds(self.started_at, self.waited_until)

    @property
    def talk_seconds(self) -> int | None:
        return _seconds(self.answered_at, self.ended_at)


def derive(events: Iterable[EventFacts]) -> CallState:
    """The state a call's events describe, whatever order they came in."""
    ordered = sorted(events, key=lambda e: (e.occurred_at, STAGE[e.kind]))
    if not ordered:
        raise ValueError("a call state needs at least one event")
    first: dict[CallEventKind, EventFacts] = {}
    for event in ordered:
        first.setdefault(event.kind, event)
    answered = first.get(K.ANSWERED)
    gave_up = min((first[k].occurred_at for k in TERMINAL if k in first), default=None)
    ended = first[K.ENDED].occurred_at if K.ENDED in first else gave_up
    return CallState(
        status=_status(ordered, first.keys()), started_at=ordered[0].occurred_at,
        answered_at=answered.occurred_at if answered else None, ended_at=ended,
        waited_until=answered.occurred_at if answered else gave_up,
        agent_id=_latest(e.agent_id for e in ordered),
        queue_id=_latest(e.queue_id for e in ordered),
        recording_url=_latest(e.recording_url for e in ordered) or "")


def _status(ordered: list[EventFacts], kinds: Iterable[CallEventKind]) -> CallStatus:
    kinds = set(kinds)
    if K.ANSWERED in kinds:
        return CallStatus.COMPLETED if kinds & TERMINAL else CallStatus.IN_PROGRESS
    if K.VOICEMAIL in kinds:
        return CallStatus.VOICEMAIL
    if kinds & TERMINAL:
        return CallStatus.MISSED
    last = [e for e in ordered if e.kind in (K.QUEUED, K.RINGING, K.TRANSFERRED)][-1]
    rings = last.kind == K.RINGING or (last.kind == K.TRANSFERRED and last.agent_id)
    return CallStatus.RINGING if rings else CallStatus.QUEUED


def _latest(values: Iterable[T | None]) -> T | None:
    """The last value given (empty ones skipped)."""
    found = None
    for value in values:
        found = value or found
    return found


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, round((end - start).total_seconds()))
