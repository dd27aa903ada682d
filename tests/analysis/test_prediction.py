import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pipeline.analysis.prediction import (
    algorithm1_terminal_accuracies,
    eq9_terminal_log_accuracies,
    eq9_upper_triangular_gain,
    permutation_matrix,
    terminal_log_accuracies_batch,
)

BASE = np.array([0.5, 0.4])
BWT = np.array([[np.log(1.2), np.log(0.9)],
                [np.log(0.75), np.log(1.25)]])


def test_algorithm1_hand_computed_two_tasks():
    # Order (0, 1): train 0 -> a0 = .5*1.2 = .6, a1 = .4*.75 = .3;
    #               train 1 -> a1 reset to .4 then *1.25 = .5, a0 = .6*.9 = .54.
    np.testing.assert_allclose(algorithm1_terminal_accuracies(BWT, BASE, [0, 1]), [0.54, 0.5])
    # Order (1, 0): train 1 -> a1 = .5, a0 = .45; train 0 -> a0 = .6, a1 = .5*.75 = .375.
    np.testing.assert_allclose(algorithm1_terminal_accuracies(BWT, BASE, [1, 0]), [0.6, 0.375])


def test_eq9_hand_computed_three_tasks():
    b = np.array([[0.1, 0.2, 0.3],
                  [0.4, 0.5, 0.6],
                  [0.7, 0.8, 0.9]])
    base = np.array([0.2, 0.3, 0.4])
    # σ = (2, 0, 1): task 2 first (then 0 and 1 trained after it), task 0, then task 1 last.
    expected = np.log(base) + np.diag(b) + np.array([b[0, 1], 0.0, b[2, 0] + b[2, 1]])
    np.testing.assert_allclose(eq9_terminal_log_accuracies(b, base, [2, 0, 1]), expected)
    # Permuted matrix M_ij = BWT_σ(i)σ(j); its strict upper triangle sums to 0.7+0.8+0.2.
    assert eq9_upper_triangular_gain(b, [2, 0, 1]) == pytest.approx(1.7)


def test_permutation_matrix_convention():
    phi = permutation_matrix([2, 0, 1])
    assert phi[2, 0] == 1 and phi[0, 1] == 1 and phi[1, 2] == 1  # Φ_ij = 1{i = σ(j)}
    b = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(phi.T @ b @ phi, b[np.ix_([2, 0, 1], [2, 0, 1])])


def test_eq9_gain_is_relative_to_single_task_accuracies_not_identity_order():
    # Σ log a(σ) − Σ log Acc(θ(θ0,T_k),T_k) equals the upper-triangular sum (our reading) ...
    for order in ([0, 1], [1, 0]):
        lhs = np.log(algorithm1_terminal_accuracies(BWT, BASE, order)).sum() - (np.log(BASE) + np.diag(BWT)).sum()
        assert lhs == pytest.approx(eq9_upper_triangular_gain(BWT, order))
    # ... while the identity order does not give 0 on the right, so "Id" cannot be the identity order.
    assert eq9_upper_triangular_gain(BWT, [0, 1]) != pytest.approx(0.0)


def test_invalid_order_rejected():
    with pytest.raises(ValueError, match="permutation"):
        algorithm1_terminal_accuracies(BWT, BASE, [0, 0])


@st.composite
def instances(draw):
    k = draw(st.integers(1, 7))
    bwt = draw(arrays(np.float64, (k, k), elements=st.floats(-2, 2, allow_nan=False)))
    base = draw(arrays(np.float64, (k,), elements=st.floats(0.01, 1.0)))
    order = draw(st.permutations(list(range(k))))
    return bwt, base, order


@settings(max_examples=300, deadline=None)
@given(instances())
def test_algorithm1_agrees_with_closed_form_eq9(instance):
    bwt, base, order = instance
    literal = np.log(algorithm1_terminal_accuracies(bwt, base, order))
    closed = eq9_terminal_log_accuracies(bwt, base, order)
    np.testing.assert_allclose(literal, closed, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(terminal_log_accuracies_batch(bwt, base, np.array([order])), [closed],
                               rtol=1e-12, atol=1e-12)
    total = closed.sum() - (np.log(base) + np.diag(bwt)).sum()
    assert total == pytest.approx(eq9_upper_triangular_gain(bwt, order), abs=1e-9)
