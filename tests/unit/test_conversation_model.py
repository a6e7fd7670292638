"""The conversation lifecycle and tag rules, on plain objects."""

from datetime import UTC, datetime

import pytest

from helpdesk.errors import InvalidTransition
from helpdesk.models import Conversation, ConversationStatus

S = ConversationStatus
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
EARLIER = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)

# The lifecycle, written out independently of the model's table.
PERMITTED = {
    (S.NEW, S.OPEN), (S.NEW, S.PENDING), (S.NEW, S.ON_HOLD), (S.NEW, S.SOLVED),
    (S.NEW, S.CLOSED),
    (S.OPEN, S.PENDING), (S.OPEN, S.ON_HOLD), (S.OPEN, S.SOLVED), (S.OPEN, S.CLOSED),
    (S.PENDING, S.OPEN), (S.PENDING, S.ON_HOLD), (S.PENDING, S.SOLVED), (S.PENDING, S.CLOSED),
    (S.ON_HOLD, S.OPEN), (S.ON_HOLD, S.PENDING), (S.ON_HOLD, S.SOLVED), (S.ON_HOLD, S.CLOSED),
    (S.SOLVED, S.OPEN), (S.SOLVED, S.PENDING), (S.SOLVED, S.CLOSED),
}
CHANGES = [(a, b) for a in S for b in S if a != b]


def conversation(status: ConversationStatus) -> Conversation:
    return Conversation(status=status, solved_at=None, closed_at=None)


@pytest.mark.parametrize(("old", "new"), sorted(PERMITTED))
def test_permitted_transition_changes_status(old, new):
    conv = conversation(old)
    conv.move_to(new, NOW)
    assert conv.status == new


@pytest.mark.parametrize(("old", "new"), [c for c in CHANGES if c not in PERMITTED])
def test_forbidden_transition_is_refused_and_changes_nothing(old, new):
    conv = conversation(old)
    with pytest.raises(InvalidTransition) as refused:
        conv.move_to(new, NOW)
    assert conv.status == old
    assert old.value in refused.value.message and new.value in refused.value.message


@pytest.mark.parametrize("status", list(S))
def test_moving_to_the_same_status_is_a_no_op(status):
    conv = conversation(status)
    conv.move_to(status, NOW)
    assert (conv.status, conv.solved_at, conv.closed_at) == (status, None, None)


def test_solving_stamps_solved_at():
    conv = conversation(S.OPEN)
    conv.move_to(S.SOLVED, NOW)
    assert (conv.solved_at, conv.closed_at) == (NOW, None)


def test_closing_a_solved_conversation_keeps_when_it_was_solved():
    conv = conversation(S.OPEN)
    conv.move_to(S.SOLVED, EARLIER)
    conv.move_to(S.CLOSED, NOW)
    assert (conv.solved_at, conv.closed_at) == (EARLIER, NOW)


@pytest.mark.parametrize("reopened", [S.OPEN, S.PENDING])
def test_reopening_a_solved_conversation_clears_solved_at(reopened):
    conv = conversation(S.OPEN)
    conv.move_to(S.SOLVED, EARLIER)
    conv.move_to(reopened, NOW)
    assert (conv.status, conv.solved_at) == (reopened, None)


def test_tags_are_trimmed_lower_cased_deduplicated_and_sorted():
    conv = Conversation()
    conv.set_tags([" Billing ", "billing", "VIP", "", "   ", "refund"])
    assert conv.tags == ["billing", "refund", "vip"]


def test_set_tags_replaces_and_keeps_the_rows_of_tags_that_stay():
    conv = Conversation()
    conv.set_tags(["vip", "billing"])
    vip_row = conv.tag_rows[1]
    conv.set_tags(["urgent", "VIP"])
    assert conv.tags == ["urgent", "vip"]
    assert conv.tag_rows[1] is vip_row


def test_no_tags_clears_them():
    conv = Conversation()
    conv.set_tags(["vip"])
    conv.set_tags([])
    assert conv.tags == []
