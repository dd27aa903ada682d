import numpy as np
import pytest

from pipeline.analysis.bwt import apply_accuracy_floor, bwt_matrix, floor_or_refuse
from pipeline.analysis.entropy import entropy_change_matrix
from pipeline.errors import UserError


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


def test_floor_or_refuse_raises_to_the_floor_keeps_nan_and_without_a_floor_refuses_a_zero():
    cube = np.array([[np.nan, 0.0], [0.2, np.nan]])  # a pair table's diagonal is NaN
    np.testing.assert_array_equal(floor_or_refuse(cube, 0.01, "pairs.csv"), [[np.nan, 0.01], [0.2, np.nan]])
    np.testing.assert_array_equal(floor_or_refuse(cube[1], None, "pairs.csv"), [0.2, np.nan])
    with pytest.raises(UserError, match=r"^pairs.csv: an accuracy of 0 makes log-accuracy undefined; set order.floor$"):
        floor_or_refuse(cube, None, "pairs.csv")


def test_entropy_change_eq12_hand_computed():
    base = np.array([2.0, 4.0])             # E(θ0, T_j)
    single = np.array([[1.0, 3.0],          # trained on 0, evaluated on 0, 1
                       [3.0, 5.0]])         # trained on 1
    np.testing.assert_allclose(entropy_change_matrix(base, single), [[-0.5, -0.25], [0.5, 0.25]])


def test_mean_transfer_averages_replicas_cell_by_cell_in_the_first_task_order(tmp_path):
    from pipeline.analysis.tables import mean_transfer, read_transfer_table
    from pipeline.errors import UserError

    a = tmp_path / "a.csv"
    a.write_text("trained_on,evaluated_on,accuracy\nbase,x,0.2\nbase,y,0.4\nx,x,0.6\ny,x,0.1\nx,y,0.3\ny,y,0.8\n")
    b = tmp_path / "b.csv"  # the same cells, rows in another order (y first)
    b.write_text("trained_on,evaluated_on,accuracy\nbase,y,0.6\nbase,x,0.4\ny,y,0.6\nx,y,0.5\nx,x,0.8\ny,x,0.3\n")
    mean = mean_transfer([read_transfer_table(a, "accuracy"), read_transfer_table(b, "accuracy")], ["a", "b"])
    assert mean.tasks == ("x", "y")
    np.testing.assert_allclose(mean.base, [0.3, 0.5])
    np.testing.assert_allclose(mean.single, [[0.7, 0.2], [0.4, 0.7]])  # [evaluated on, trained on]
    c = tmp_path / "c.csv"
    c.write_text("trained_on,evaluated_on,accuracy\nbase,z,0.5\nz,z,0.5\n")
    with pytest.raises(UserError, match=r"^c: tasks \['z'\] differ from a's \['x', 'y'\]"):
        mean_transfer([read_transfer_table(a, "accuracy"), read_transfer_table(c, "accuracy")], ["a", "c"])
