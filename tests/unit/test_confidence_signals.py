"""The benchmark's measure: out-of-scope recall at a given cost in in-scope accuracy."""

import numpy as np
import pytest

from benchmarks.confidence_signals import LOSSES, Signal, recall_at_losses


def test_the_line_sits_above_the_right_answers_it_may_lose() -> None:
    right_confidences = np.arange(1, 101) / 100  # 100 right answers: 0.01 … 1.00
    outside = np.array([0.015, 0.025, 0.035, 0.045, 0.055, 0.5])
    wrong = np.array([0.0])  # a wrong answer escalated costs nothing: it does not move the line
    confidence = np.concatenate([right_confidences, wrong, outside])
    in_scope = np.array([True] * 101 + [False] * 6)
    right = np.array([True] * 100 + [False] * 7)

    recalls = recall_at_losses(Signal(right, confidence, 0.0), in_scope)

    # 101 in-scope questions: 1, 2, 3 and 5 right answers may go below the line
    assert LOSSES == (0.01, 0.02, 0.035, 0.05)
    assert recalls == pytest.approx([1 / 6, 2 / 6, 3 / 6, 5 / 6])


def test_a_signal_with_no_right_answer_may_hand_over_everything() -> None:
    signal = Signal(np.array([False, False, False]), np.array([0.9, 0.2, 0.95]), 0.0)

    assert recall_at_losses(signal, np.array([True, False, False])) == [1.0] * len(LOSSES)


def test_the_line_ignores_out_of_scope_questions_marked_right() -> None:
    signal = Signal(np.array([True, True, True]), np.array([0.5, 0.2, 0.95]), 0.0)

    assert recall_at_losses(signal, np.array([True, False, False])) == [0.5] * len(LOSSES)
