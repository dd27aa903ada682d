"""Backward-transfer matrix (Definition 1, Eq. 6).

Conventions used across the project:

- tasks are indexed ``0..K-1`` in a fixed order (``tasks`` list);
- ``acc_base[i] = Acc(θ0, T_i)``;
- ``acc_single[i, j] = Acc(θ(θ0, T_j), T_i)``: row ``i`` is the task *evaluated on*,
  column ``j`` the task *trained on* (the paper's ``BWT_ij`` convention).

Validation and test matrices are computed separately: call :func:`bwt_matrix` once
per split with that split's accuracies.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..errors import UserError

FloatArray = NDArray[np.float64]


def bwt_matrix(acc_base: FloatArray, acc_single: FloatArray) -> FloatArray:
    """Backward-transfer matrix, Definition 1 / Eq. 6.

    ``BWT_ij = log Acc(θ(θ0, T_j), T_i) − log Acc(θ0, T_i)`` (natural log).

    Args:
        acc_base: shape ``(K,)``, accuracies of θ0.
        acc_single: shape ``(K, K)``, ``acc_single[i, j]`` is the accuracy on task ``i``
            of the model trained on task ``j`` alone.

    Returns:
        shape ``(K, K)`` matrix, rows = evaluated-on task, columns = trained-on task.

    Raises:
        ValueError: if an accuracy is not strictly positive (apply
            :func:`apply_accuracy_floor` first) or the shapes disagree.
    """
    base = np.asarray(acc_base, dtype=np.float64)
    single = np.asarray(acc_single, dtype=np.float64)
    k = base.shape[0]
    if base.ndim != 1 or single.shape != (k, k):
        raise ValueError(f"expected acc_base (K,) and acc_single (K, K), got {base.shape} and {single.shape}")
    if not (np.all(base > 0) and np.all(single > 0)):
        raise ValueError("log-accuracy is undefined for accuracies <= 0; apply an explicit floor first")
    return np.log(single) - np.log(base)[:, None]


def apply_accuracy_floor(acc: FloatArray, floor: float) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Clamp accuracies below ``floor`` up to ``floor`` so that Eq. 6 stays finite.

    Returns the clamped copy and a boolean mask of the cells that were raised,
    so that the caller can warn about every one of them.
    """
    if not (0.0 < floor <= 1.0):
        raise ValueError(f"floor must be in (0, 1], got {floor}")
    values = np.asarray(acc, dtype=np.float64)
    raised = values < floor
    return np.where(raised, floor, values), raised


def floor_or_refuse(acc: FloatArray, floor: float | None, source: str) -> FloatArray:
    """``acc`` with the values below ``floor`` raised to it (:func:`apply_accuracy_floor`; NaN cells stay NaN), so
    that log-accuracies stay finite. Without a floor, an accuracy of 0 is a one-line error naming ``source``."""
    values = np.asarray(acc, dtype=np.float64)
    if floor is not None:
        return apply_accuracy_floor(values, floor)[0]
    if np.nanmin(values) <= 0.0:
        raise UserError(f"{source}: an accuracy of 0 makes log-accuracy undefined; set order.floor")
    return values
