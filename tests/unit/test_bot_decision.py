"""The assistant's decision rules, on hand-made hits (no model, no database)."""

import pytest

from bot.decision import Outcome, decide, handover_reason
from bot.engine import BotContext, BotThresholds, SiteThresholds
from bot.responses import EscalationReason
from knowledge_base.search.engine import SearchHit


def hit(article_id: int, score: float) -> SearchHit:
    return SearchHit(article_id, version=3, chunk_id=article_id * 10, score=score, dense=0.7,
                     lexical=1.0, classifier=-0.5)


HITS = [hit(1, 3.0), hit(2, 1.0), hit(3, 0.5)]


def test_a_confident_best_hit_well_ahead_is_answered():
    decision = decide(HITS, confidence=0.9, min_confidence=0.4, clarify_margin=0.5)
    assert decision.outcome is Outcome.ANSWER
    assert [h.article_id for h in decision.hits] == [1]
    assert decision.confidence == 0.9


def test_below_the_line_it_escalates_and_keeps_the_best_hit_for_the_record():
    decision = decide(HITS, confidence=0.39, min_confidence=0.4, clarify_margin=0.5)
    assert decision.outcome is Outcome.ESCALATE
    assert decision.reason is EscalationReason.LOW_CONFIDENCE
    assert [h.article_id for h in decision.hits] == [1]


def test_no_hit_escalates_as_no_articles():
    decision = decide([], confidence=0.0, min_confidence=0.0, clarify_margin=0.5)
    assert (decision.outcome, decision.reason) == (Outcome.ESCALATE,
                                                   EscalationReason.NO_ARTICLES)


@pytest.mark.parametrize(("scores", "offered"), [
    ([3.0, 2.8, 0.0], [1, 2]),
    ([3.0, 2.8, 2.6, 2.5], [1, 2, 3]),  # never more than three
    ([3.0, 2.0, 1.9], []),
])
def test_runners_up_close_to_the_best_are_offered_as_choices(scores, offered):
    hits = [hit(n + 1, s) for n, s in enumerate(scores)]
    decision = decide(hits, confidence=0.8, min_confidence=0.4, clarify_margin=0.5)
    if offered:
        assert decision.outcome is Outcome.CLARIFY
        assert [h.article_id for h in decision.hits] == offered
    else:
        assert decision.outcome is Outcome.ANSWER


def test_a_close_runner_up_does_not_save_a_question_below_the_line():
    hits = [hit(1, 3.0), hit(2, 2.9)]
    assert decide(hits, 0.1, 0.4, 0.5).outcome is Outcome.ESCALATE


@pytest.mark.parametrize(("context", "reason"), [
    (BotContext(), None),
    (BotContext(unhelpful_streak=1), None),
    (BotContext(unhelpful_streak=2), EscalationReason.UNHELPFUL_STREAK),
    (BotContext(marked_unhelpful=True), EscalationReason.MARKED_UNHELPFUL),
])
def test_the_conversation_rules_hand_over(context, reason):
    assert handover_reason(context, max_unhelpful=2) is reason


def test_a_site_overrides_only_the_thresholds_it_sets():
    defaults = BotThresholds(min_confidence=None, clarify_margin=0.5, max_unhelpful=2)
    site = SiteThresholds(min_confidence=0.7, max_unhelpful=3)
    assert defaults.overridden(site) == BotThresholds(0.7, 0.5, 3)
    assert defaults.overridden(None) is defaults
