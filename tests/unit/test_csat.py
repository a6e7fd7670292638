"""Satisfaction's rules without a database (helpdesk.services.csat): what a rating and a
comment may be, who may rate when (solved first, then 7 days to change), and the email's
one-click links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import BadSignature, URLSafeTimedSerializer

from helpdesk.errors import ValidationFailed
from helpdesk.models import Conversation, ConversationStatus
from helpdesk.services import csat

GIVEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("rating", [1, 3, 5])
def test_a_rating_is_a_whole_number_from_1_to_5(rating):
    assert csat.checked_rating(rating) == rating


@pytest.mark.parametrize("rating", [0, 6, -1, 4.0, "4", True, None, [4]])
def test_anything_else_is_refused_naming_the_rating(rating):
    with pytest.raises(ValidationFailed, match="whole number from 1 to 5") as refused:
        csat.checked_rating(rating)
    assert refused.value.field == "rating"


def test_a_comment_is_trimmed_and_limited():
    assert csat.checked_comment("  Quick, thanks \n") == "Quick, thanks"
    assert csat.checked_comment("x" * csat.MAX_COMMENT) == "x" * csat.MAX_COMMENT
    with pytest.raises(ValidationFailed, match="at most 2000 characters") as refused:
        csat.checked_comment("x" * (csat.MAX_COMMENT + 1))
    assert refused.value.field == "comment"


@pytest.mark.parametrize(("status", "rateable"), [
    (ConversationStatus.NEW, False), (ConversationStatus.OPEN, False),
    (ConversationStatus.PENDING, False), (ConversationStatus.SOLVED, True),
    (ConversationStatus.CLOSED, True)])
def test_a_conversation_is_rated_once_solved_or_closed(status, rateable):
    conversation = Conversation(status=status, csat_given_at=None)
    assert csat.editable_until(conversation) is None
    assert csat.may_rate(conversation, GIVEN) is rateable


@pytest.mark.parametrize(("later", "open_"), [
    (timedelta(0), True), (timedelta(days=6, hours=23), True), (timedelta(days=7), True),
    (timedelta(days=7, seconds=1), False), (timedelta(days=30), False)])
def test_a_given_rating_changes_for_seven_days_whatever_the_status(later, open_):
    conversation = Conversation(status=ConversationStatus.OPEN, csat_given_at=GIVEN,
                                csat_rating=4)
    assert csat.editable_until(conversation) == GIVEN + timedelta(days=7)
    assert csat.may_rate(conversation, GIVEN + later) is open_


def test_the_email_has_one_signed_link_per_rating_best_first_in_the_template():
    links = csat.rating_links("https://help.shop.example/", "key", 42)
    assert [rating for rating, _ in links] == [1, 2, 3, 4, 5]
    for rating, url in links:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc) == ("https", "help.shop.example")
        assert parts.path.startswith("/rate/") and "//" not in parts.path
        assert parse_qs(parts.query) == {"rating": [str(rating)]}
        token = parts.path.removeprefix("/rate/")
        assert URLSafeTimedSerializer("key", salt=csat.LINK_SALT).loads(token) == 42
    assert len({urlsplit(url).path for _, url in links}) == 1  # one token, five choices


def test_a_token_signed_with_the_same_key_for_something_else_is_not_a_rating_link():
    other = URLSafeTimedSerializer("key").dumps(42)  # the same key, without the salt
    assert csat.link_token("key", 42) != other
    with pytest.raises(BadSignature):
        URLSafeTimedSerializer("key", salt=csat.LINK_SALT).loads(other)
