"""The predictors side by side on trained orders (validate-predictions' comparison), by hand."""

import numpy as np
import pytest

from pipeline.analysis.pairwise import PairwisePredictor
from pipeline.analysis.validation import ALGORITHM1, PAIRWISE, PAIRWISE_LOO, PredictorInputs, compare_predictors
from pipeline.errors import UserError

BASE = np.array([0.5, 0.4])
BWT = np.log(np.array([[0.6 / 0.5, 0.45 / 0.5],    # BWT[i, j] = log Acc(trained on j, on i) − log Acc(θ0, on i)
                       [0.35 / 0.4, 0.5 / 0.4]]))


def test_algorithm1_alone_when_there_are_no_pairs():
    measured = np.array([[0.5, 0.6], [0.6, 0.45]])   # orders (0, 1) and (1, 0)
    got = compare_predictors(PredictorInputs(BASE, BWT), [(0, 1), (1, 0)], measured, 1e-3, np.ones(2))
    # Algorithm 1: the task trained last keeps its single-task accuracy, the first is moved by BWT of the second:
    # (0, 1): a_0 = 0.6 · 0.45/0.5 = 0.54, a_1 = 0.5; (1, 0): a_0 = 0.6, a_1 = 0.5 · 0.35/0.4 = 0.4375.
    np.testing.assert_allclose(got.predicted[ALGORITHM1], [[0.54, 0.5], [0.6, 0.4375]])
    assert set(got.errors) == {ALGORITHM1}
    assert got.errors[ALGORITHM1]["task_mae"] == pytest.approx((0.04 + 0.1 + 0.0 + 0.0125) / 4)
    summary = got.summary(0)
    assert summary["predicted"]["delta_rel"] == pytest.approx(np.mean(np.log([0.54 / 0.5, 0.5 / 0.4])))
    assert summary["actual"]["delta_rel"] == pytest.approx(np.mean(np.log([0.5 / 0.5, 0.6 / 0.4])))
    assert summary["predictors"][ALGORITHM1] == summary["predicted"]


def test_the_pairwise_predictors_and_the_fitted_scales():
    self_acc = np.array([0.6, 0.5])
    pair = np.full((2, 2, 2), np.nan)
    pair[0, 1] = [0.54, 0.55]   # 0 → 1: 0 falls to 0.54 (B_01 = log 0.9), 1 learns to 0.55 (F_01 = log 1.1)
    pair[1, 0] = [0.66, 0.45]   # 1 → 0: F_10 = log 1.1, B_10 = log 0.9
    pw = PairwisePredictor.from_pairs(self_acc, pair)
    measured = np.array([[0.54, 0.55], [0.66, 0.45]])  # the pairs themselves: the pairwise predictor is exact
    got = compare_predictors(PredictorInputs(BASE, BWT, pw), [(0, 1), (1, 0)], measured, 1e-3, np.ones(2))
    np.testing.assert_allclose(got.predicted[PAIRWISE], measured)
    np.testing.assert_allclose(got.predicted[PAIRWISE_LOO], measured)  # λ = 1 fits the other order exactly
    assert got.errors[PAIRWISE]["task_mae"] == pytest.approx(0.0, abs=1e-12)
    assert got.errors["fitted_scales"] == pytest.approx([1.0, 1.0])
    assert got.errors[ALGORITHM1]["task_mae"] == pytest.approx((0.0 + 0.05 + 0.06 + 0.0125) / 4)


def test_a_zero_accuracy_needs_a_floor():
    with pytest.raises(UserError, match="set order.floor"):
        compare_predictors(PredictorInputs(BASE, BWT), [(0, 1)], np.array([[0.0, 0.5]]), None, np.ones(2))
    floored = compare_predictors(PredictorInputs(BASE, BWT), [(0, 1)], np.array([[0.0, 0.5]]), 0.01, np.ones(2))
    assert floored.measured[0, 0] == 0.01
