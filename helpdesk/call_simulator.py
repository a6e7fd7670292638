"""A small PBX that posts realistic call events to ``POST /api/v1/calls/events``.

Calls start at random (a Poisson process of ``rate`` calls a minute); each follows a
scenario (answered, abandoned, voicemail, transferred…) with human delays; like a real PBX's
webhooks, a few events are sent twice and a few calls' last events cross on the way. For
demos and load tests: ``comptoir calls simulate``.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from helpdesk.signatures import signed_headers

EVENTS_PATH = "/api/v1/calls/events"
DUPLICATE_RATE = 0.05  # of events, sent a second time a little later
CROSSED_RATE = 0.05  # of calls, whose last two events arrive in the wrong order
RECORDED_RATE = 0.5  # of answered calls, with a recording
CALLERS = 300  # distinct numbers: some customers call more than once
TIMEOUT = 10.0


@dataclass(frozen=True)
class Cast:
    """Who the calls reach: queue names and agents' emails (either may be empty)."""

    queues: list[str]
    agents: list[str]


@dataclass(frozen=True)
class Posting:
    """One event body to post ``at`` seconds after the simulation started."""

    at: float
    body: dict[str, Any]


@dataclass
class Tally:
    """What the server answered."""

    statuses: Counter[int] = field(default_factory=Counter)
    calls: set[str] = field(default_factory=set)
    refusals: list[str] = field(default_factory=list)

    def add(self, body: dict[str, Any], status: int, detail: str) -> None:
        self.statuses[status] += 1
        self.calls.add(body["call_id"])
        if status >= 300:
            self.refusals.append(f"{body['call_id']} {body['event']}: {status} {detail}")

    def summary(self, seconds: float) -> str:
        posted = sum(self.statuses.values())
        refused = posted - self.statuses[201] - self.statuses[200]
        return (f"posted {posted} events of {len(self.calls)} calls in {seconds:.0f} s: "
                f"{self.statuses[201]} stored (201), {self.statuses[200]} duplicates (200), "
                f"{refused} refused")


# --- what happens ----------------------------------------------------------------------------


Step = tuple[float, str, dict[str, Any]]  # seconds into the call, event, fields


def _answered(rng: random.Random, cast: Cast) -> list[Step]:
    agent = rng.choice(cast.agents)
    ring, pick_up, talk = rng.uniform(5, 40), rng.uniform(3, 15), rng.uniform(30, 400)
    recording = {"recording_url": _recording(rng)} if rng.random() < RECORDED_RATE else {}
    return [(0, "queued", {}), (ring, "ringing", {"agent": agent}),
            (ring + pick_up, "answered", {"agent": agent}),
            (ring + pick_up + talk, "ended", recording)]


def _transferred(rng: random.Random, cast: Cast) -> list[Step]:
    steps = _answered(rng, cast)
    answered_at, ended_at = steps[2][0], steps[3][0]
    colleague = rng.choice(cast.agents)
    transfer = (answered_at + (ended_at - answered_at) / 2, "transferred", {"agent": colleague})
    return [*steps[:3], transfer, steps[3]]


def _abandoned(rng: random.Random, cast: Cast) -> list[Step]:
    return [(0, "queued", {}), *_rang(rng, cast), (rng.uniform(35, 120), "missed", {})]


def _hung_up_in_queue(rng: random.Random, _cast: Cast) -> list[Step]:
    return [(0, "queued", {}), (rng.uniform(10, 90), "ended", {})]


def _voicemail(rng: random.Random, cast: Cast) -> list[Step]:
    to_voicemail = rng.uniform(35, 60)
    return [(0, "queued", {}), *_rang(rng, cast),
            (to_voicemail, "voicemail", {"recording_url": _recording(rng)}),
            (to_voicemail + rng.uniform(15, 60), "ended", {})]


def _rang(rng: random.Random, cast: Cast) -> list[Step]:
    """An agent's phone rang in vain (when there are agents)."""
    if not cast.agents:
        return []
    return [(rng.uniform(5, 30), "ringing", {"agent": rng.choice(cast.agents)})]


SCENARIOS: list[tuple[Callable[[random.Random, Cast], list[Step]], float, bool]] = [
    # scenario, weight, needs an agent
    (_answered, 0.55, True), (_transferred, 0.15, True), (_abandoned, 0.12, False),
    (_hung_up_in_queue, 0.06, False), (_voicemail, 0.12, False),
]


def _recording(rng: random.Random) -> str:
    return f"https://pbx.example/recordings/{rng.getrandbits(48):012x}.mp3"


def call_steps(rng: random.Random, cast: Cast) -> list[Step]:
    """One call's events, at their seconds into the call (an agentless cast: no answer)."""
    possible = [(s, w) for s, w, needs_agent in SCENARIOS if cast.agents or not needs_agent]
    scenario = rng.choices([s for s, _ in possible], weights=[w for _, w in possible])[0]
    return scenario(rng, cast)


# --- when it is sent ---------------------------------------------------------------------


def plan(rng: random.Random, cast: Cast, *, rate: float, minutes: float, start: datetime,
         speed: float = 1.0) -> list[Posting]:
    """Every posting of a run, in sending order: calls start ``rate`` a minute for
    ``minutes``, all of it ``speed`` times faster than life."""
    run = secrets.token_hex(4)
    postings = [posting
                for number, began in enumerate(_call_starts(rng, rate, minutes * 60))
                for posting in _call_postings(rng, cast, f"sim-{run}-{number}", began, start,
                                              speed)]
    return sorted(postings, key=lambda p: p.at)


def _call_starts(rng: random.Random, rate: float, seconds: float) -> Iterator[float]:
    moment = rng.expovariate(rate / 60)
    while moment < seconds:
        yield moment
        moment += rng.expovariate(rate / 60)


def _call_postings(rng: random.Random, cast: Cast, call_id: str, began: float,
                   start: datetime, speed: float) -> list[Posting]:
    caller = f"+3361{rng.randrange(CALLERS):07d}"
    queue = {"queue": rng.choice(cast.queues)} if cast.queues else {}
    postings = []
    for offset, event, fields in call_steps(rng, cast):
        at = (began + offset) / speed
        body = {"call_id": call_id, "event": event, "caller": caller, **queue, **fields,
                "timestamp": (start + timedelta(seconds=at)).isoformat()}
        postings.append(Posting(at, body))
        if rng.random() < DUPLICATE_RATE:
            postings.append(Posting(at + rng.uniform(0.5, 5) / speed, body))
    return _crossed(rng, postings) if rng.random() < CROSSED_RATE else postings


def _crossed(rng: random.Random, postings: list[Posting]) -> list[Posting]:
    """The last event is sent before the one before it (their timestamps unchanged)."""
    *head, before, last = postings
    return [*head, Posting(before.at, last.body), Posting(before.at + rng.uniform(0.5, 3),
                                                           before.body)]


# --- sending ------------------------------------------------------------------------------


class Sender:
    """Posts event bodies to a Comptoir server with an API token (signed with ``secret``)."""

    def __init__(self, base_url: str, token: str, secret: str = "") -> None:
        self.url = base_url.rstrip("/") + EVENTS_PATH
        self.secret = secret
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}",
                                     "Content-Type": "application/json"})

    def post(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The status and the JSON answer (raises requests' errors when unreachable)."""
        raw = json.dumps(body).encode()
        headers = signed_headers(self.secret, int(time.time()), raw) if self.secret else {}
        response = self.session.post(self.url, data=raw, headers=headers, timeout=TIMEOUT)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {"error": {"message": response.text[:200]}}


def run(postings: list[Posting], sender: Sender, *,
        on_refusal: Callable[[str], None] = lambda _line: None) -> Tally:
    """Post each event when its time comes (late ones at once); the server's answers."""
    tally, start = Tally(), time.monotonic()
    for posting in postings:
        time.sleep(max(0.0, posting.at - (time.monotonic() - start)))
        status, answer = sender.post(posting.body)
        tally.add(posting.body, status, answer.get("error", {}).get("message", ""))
        if status >= 300:
            on_refusal(tally.refusals[-1])
    return tally


def ring(sender: Sender, *, agent: str | int, caller: str, queue: str | int | None = None,
         call_id: str | None = None) -> dict[str, Any]:
    """Ring one agent's phone now (a call that stays ringing); the server's answer."""
    body = {"call_id": call_id or f"sim-ring-{secrets.token_hex(4)}", "event": "ringing",
            "caller": caller, "agent": agent, "timestamp": datetime.now(UTC).isoformat(),
            **({"queue": queue} if queue is not None else {})}
    status, answer = sender.post(body)
    if status >= 300:
        raise RuntimeError(f"the server refused the ringing event: {status} {answer}")
    return answer
