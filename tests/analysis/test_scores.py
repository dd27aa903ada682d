import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pipeline.analysis.prediction import algorithm1_terminal_accuracies
from pipeline.analysis.scores import delta_rel, lop_constant, lop_matrix, lop_value, score_s


def test_score_s_eq10_hand_computed():
    assert score_s(np.log([0.5, 0.25]), np.array([2.0, 1.0])) == pytest.approx(2 * np.log(0.5) + np.log(0.25))


def test_delta_rel_eq14_natural_log_not_percent():
    # (1/2) log( (0.6/0.5) * (0.3/0.4) ) = 0.5 * log(0.9)
    assert delta_rel(np.array([0.6, 0.3]), np.array([0.5, 0.4])) == pytest.approx(0.5 * np.log(0.9))


def test_lop_matrix_weights_rows_and_zeroes_diagonal():
    w = lop_matrix(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([10.0, 0.5]))
    np.testing.assert_array_equal(w, [[0.0, 20.0], [1.5, 0.0]])


def test_lop_value_sums_pairs_in_order():
    w = np.array([[0.0, 1.0, 2.0], [4.0, 0.0, 8.0], [16.0, 32.0, 0.0]])
    assert lop_value(w, [0, 1, 2]) == 1 + 2 + 8
    assert lop_value(w, [2, 1, 0]) == 32 + 16 + 4


@st.composite
def instances(draw):
    k = draw(st.integers(1, 6))
    bwt = draw(arrays(np.float64, (k, k), elements=st.floats(-1, 1)))
    base = draw(arrays(np.float64, (k,), elements=st.floats(0.05, 1.0)))
    alpha = draw(arrays(np.float64, (k,), elements=st.floats(0, 3)))
    order = draw(st.permutations(list(range(k))))
    return bwt, base, alpha, order


@settings(max_examples=200, deadline=None)
@given(instances())
def test_score_of_algorithm1_is_constant_plus_lop_value(instance):
    bwt, base, alpha, order = instance
    s = score_s(np.log(algorithm1_terminal_accuracies(bwt, base, order)), alpha)
    assert s == pytest.approx(lop_constant(bwt, base, alpha) + lop_value(lop_matrix(bwt, alpha), order), abs=1e-9)
