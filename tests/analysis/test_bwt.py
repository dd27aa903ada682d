import numpy as np
import pytest

from pipeline.analysis.bwt import apply_accuracy_floor, bwt_matrix
from pipeline.analysis.entropy import entropy_change_matrix


def test_bwt_matrix_eq6_hand_computed():
    base = np.array([0.5, 0.4])
    single = np.array([[0.6, 0.45],   # evaluated on task 0; trained on 0, 1
                       [0.3, 0.5]])   # evaluated on task 1
    expected = np.array([[np.log(1.2), np.log(0.9)],
                         [np.log(0.75), np.log(1.25)]])
    np.testing.assert_allclose(bwt_matrix(base, single), expected, rtol=0, atol=1e-15)


def test_bwt_rows_are_evaluated_on_and_columns_trained_on():
    base = np.array([0.5, 0.5, 0.5])
    single = np.full((3, 3), 0.5)
    single[2, 0] = 1.0  # training on task 0 doubles accuracy on task 2
    b = bwt_matrix(base, single)
    assert b[2, 0] == pytest.approx(np.log(2))
    assert b[0, 2] == 0.0


def test_bwt_refuses_zero_accuracy_without_floor():
    with pytest.raises(ValueError, match="floor"):
        bwt_matrix(np.array([0.0, 0.5]), np.full((2, 2), 0.5))


def test_floor_raises_only_cells_below_it_and_reports_them():
    clamped, raised = apply_accuracy_floor(np.array([0.0, 0.0005, 0.3]), 0.001)
    np.testing.assert_array_equal(clamped, [0.001, 0.001, 0.3])
    np.testing.assert_array_equal(raised, [True, True, False])
    b = bwt_matrix(clamped, np.full((3, 3), 0.3))
    assert np.all(np.isfinite(b))


@pytest.mark.parametrize("floor", [0.0, -1.0, 1.5])
def test_floor_must_be_in_unit_interval(floor):
    with pytest.raises(ValueError):
        apply_accuracy_floor(np.array([0.5]), floor)


def test_entropy_change_eq12_hand_computed():
    base = np.array([2.0, 4.0])             # E(θ0, T_j)
    single = np.array([[1.0, 3.0],          # trained on 0, evaluated on 0, 1
                       [3.0, 5.0]])         # trained on 1
    np.testing.assert_allclose(entropy_change_matrix(base, single), [[-0.5, -0.25], [0.5, 0.25]])
