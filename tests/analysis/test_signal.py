"""pipeline/analysis/signal.py: no verdict, no ρ and no "best" from numbers that carry no signal."""

import math

import pytest

from pipeline.analysis.signal import Verdict, best_agrees, no_signal_reason, rank_correlation, sign_verdict


def test_a_directional_prediction_needs_a_difference_larger_than_its_standard_error():
    assert sign_verdict(-0.30, 0.10, -1) == Verdict(True)       # falls, by 3 SE
    assert sign_verdict(+0.30, 0.10, -1) == Verdict(False)      # rises instead
    assert sign_verdict(-0.05, 0.10, -1).value is None          # within one SE
    assert "within its standard error 0.100" in sign_verdict(-0.05, 0.10, -1).reason
    assert sign_verdict(0.0, 0.0, 1).reason.startswith("no difference")  # every prompt the same: all zeros
    assert sign_verdict(0.5, math.nan, 1).reason == "no standard error (fewer than 2 prompts)"
    assert sign_verdict(-1.0, 0.0, 1) == Verdict(False)         # −1 on every prompt: SE 0, a difference all the same
    assert Verdict(None, "why").text() == "undetermined (why)" and Verdict(True).text("holds") == "holds"
    with pytest.raises(ValueError):
        sign_verdict(0.1, 0.1, 0)


def test_the_best_predicted_is_the_best_measured_only_when_both_are_unique():
    assert best_agrees([3, 2, 1], [0.9, 0.5, 0.1]) == Verdict(True)
    assert best_agrees([3, 2, 1], [0.5, 0.9, 0.1]) == Verdict(False)
    assert best_agrees([3, 3, 1], [0.9, 0.5, 0.1]).reason == "2 orders tie for the best prediction"
    assert best_agrees([3, 2, 1], [0.0, 0.0, 0.0]).reason == "3 orders tie for the best measured value"
    # Lead 0.4 − 0.3 = 0.1 against standard errors 0.05 and 0.2: within the larger, so no verdict.
    assert best_agrees([3, 2, 1], [0.4, 0.3, 0.1], [0.05, 0.2, 0.1]).value is None
    assert best_agrees([3, 2, 1], [0.4, 0.3, 0.1], [0.05, 0.05, 0.1]) == Verdict(True)
    assert best_agrees([1], [0.4]).reason == "fewer than two orders measured"


def test_a_rank_correlation_of_a_constant_ranking_is_undefined():
    assert rank_correlation([1, 2, 3, 4], [2, 1, 3, 4]) == (pytest.approx(0.8), "")  # 1 − 6·2 / (4·15)
    assert rank_correlation([0.0, 0.0, 0.0], [1, 2, 3])[0] is None
    assert rank_correlation([1e-14, 0.0, 2e-14], [1, 2, 3])[0] is None  # floating-point noise is a tie
    assert rank_correlation([1.0], [1.0]) == (None, "fewer than two values")


def test_a_run_carries_no_signal_when_every_accuracy_is_zero_or_thetas():
    zeros = {"Base": {"a": 0.0, "b": 0.0}, "CL": {"a": 0.0, "b": 0.0}}
    assert no_signal_reason(zeros) == "every test accuracy is 0"
    flat = {"Base": {"a": 0.3, "b": 0.5}, "CL": {"a": 0.3, "b": 0.5}, "JT": {"a": 0.3, "b": 0.5}}
    assert no_signal_reason(flat) == "every model's test accuracy equals θ0's"
    assert no_signal_reason({"Base": {"a": 0.3, "b": 0.5}, "CL": {"a": 0.4, "b": 0.5}}) is None
    assert no_signal_reason({}) == "no accuracy was measured"
