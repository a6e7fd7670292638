"""A call's state from its events, whatever their arrival order; phone numbers; the keys
that make a retry a duplicate."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.models import CallEventKind, CallStatus
from helpdesk.telephony import derive, idempotency_key, normalize_number

K = CallEventKind
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    kind: CallEventKind
    seconds: float = 0
    agent_id: int | None = None
    queue_id: int | None = None
    recording_url: str = ""

    @property
    def occurred_at(self) -> datetime:
        return T0 + timedelta(seconds=self.seconds)


ANSWERED_CALL = [Event(K.QUEUED, 0, queue_id=1), Event(K.RINGING, 20, agent_id=7),
                 Event(K.ANSWERED, 30, agent_id=7), Event(K.ENDED, 150)]


def test_an_answered_call_has_its_wait_and_talk_times():
    state = derive(ANSWERED_CALL)
    assert (state.status, state.agent_id, state.queue_id) == (CallStatus.COMPLETED, 7, 1)
    assert (state.wait_seconds, state.talk_seconds) == (30, 120)
    assert (state.started_at, state.ended_at) == (T0, T0 + timedelta(seconds=150))


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_every_arrival_order_gives_the_same_state(order):
    assert derive([ANSWERED_CALL[n] for n in order]) == derive(ANSWERED_CALL)


def test_ended_before_answered_arrived_is_a_missed_call_until_the_answer_comes():
    ended = [Event(K.RINGING, 0, agent_id=7), Event(K.ENDED, 90)]
    assert derive(ended).status == CallStatus.MISSED
    assert derive([*ended, Event(K.ANSWERED, 10, agent_id=7)]).status == CallStatus.COMPLETED


@pytest.mark.parametrize(("events", "status"), [
    ([Event(K.QUEUED)], CallStatus.QUEUED),
    ([Event(K.QUEUED), Event(K.RINGING, 5, agent_id=2)], CallStatus.RINGING),
    # It rang an agent, nobody picked up, back in the queue.
    ([Event(K.RINGING, 0, agent_id=2), Event(K.QUEUED, 30)], CallStatus.QUEUED),
    ([Event(K.RINGING), Event(K.ANSWERED, 5, agent_id=2)], CallStatus.IN_PROGRESS),
    ([Event(K.QUEUED), Event(K.MISSED, 40)], CallStatus.MISSED),
    ([Event(K.QUEUED), Event(K.VOICEMAIL, 40), Event(K.ENDED, 90)], CallStatus.VOICEMAIL),
    ([Event(K.QUEUED), Event(K.TRANSFERRED, 5, queue_id=3)], CallStatus.QUEUED),
    ([Event(K.QUEUED), Event(K.TRANSFERRED, 5, agent_id=3)], CallStatus.RINGING),
])
def test_the_status_follows_the_call(events, status):
    assert derive(events).status == status


def test_a_transfer_hands_the_call_to_the_last_agent():
    state = derive([Event(K.ANSWERED, 0, agent_id=1), Event(K.TRANSFERRED, 60, agent_id=2),
                    Event(K.TRANSFERRED, 90, agent_id=3, queue_id=4), Event(K.ENDED, 100)])
    assert (state.status, state.agent_id, state.queue_id) == (CallStatus.COMPLETED, 3, 4)


def test_events_at_the_same_second_fold_in_the_order_of_a_call():
    state = derive([Event(K.ENDED, 10), Event(K.ANSWERED, 10, agent_id=1), Event(K.RINGING, 10)])
    assert (state.status, state.talk_seconds, state.wait_seconds) == (CallStatus.COMPLETED, 0, 0)


def test_a_voicemail_waited_until_the_voicemail_and_keeps_its_recording():
    state = derive([Event(K.QUEUED, 0), Event(K.VOICEMAIL, 45, recording_url="https://r/1"),
                    Event(K.ENDED, 80)])
    assert (state.wait_seconds, state.talk_seconds) == (45, None)
    assert state.recording_url == "https://r/1"


def test_a_live_call_has_no_wait_time_yet():
    assert derive([Event(K.QUEUED)]).wait_seconds is None


def test_no_events_no_state():
    with pytest.raises(ValueError, match="at least one event"):
        derive([])


@pytest.mark.parametrize(("raw", "number"), [
    ("+33 6 12-34-56-78", "+33612345678"),
    ("0033 (6) 12.34.56.78", "+33612345678"),
    ("sip:+33612345678@pbx.example;user=phone", "+33612345678"),
    ("tel:+44 20 7946 0000", "+442079460000"),
    ("0612345678", "0612345678"),
    ("Anonymous", None),
    ("private", None),
])
def test_numbers_are_normalised_to_e164_as_far_as_can_be_told(raw, number):
    assert normalize_number(raw) == number


def test_a_national_number_takes_the_configured_country_code():
    assert normalize_number("06 12 34 56 78", "33") == "+33612345678"
    assert normalize_number("+44 20 7946 0000", "33") == "+442079460000"


@pytest.mark.parametrize("raw", ["call me", "+", "12a45", "+123456789012345678901"])
def test_what_is_not_a_number_is_refused(raw):
    with pytest.raises(ValueError, match="not a phone number"):
        normalize_number(raw)


def test_each_kind_happens_once_per_call_but_transfers_can_repeat():
    assert idempotency_key(K.ANSWERED, T0) == idempotency_key(K.ANSWERED, T0 + timedelta(1))
    first, second = (idempotency_key(K.TRANSFERRED, T0 + timedelta(seconds=s)) for s in (1, 2))
    assert first != second
