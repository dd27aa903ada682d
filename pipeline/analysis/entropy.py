"""Entropy change matrix (Section 5.3, Eq. 12).

``H_ij = E(θ(θ0, T_i), T_j) / E(θ0, T_j) − 1``, where ``E`` is the mean token
entropy of Eq. 11. Note the paper's index order here: row ``i`` is the task
*trained on* and column ``j`` the task *evaluated on*, the transpose of the BWT
convention. We keep the paper's order and label the axes in every output.
"""

from __future__ import annotations

import numpy as np

from .bwt import FloatArray


def entropy_change_matrix(entropy_base: FloatArray, entropy_single: FloatArray) -> FloatArray:
    """Eq. 12.

    Args:
        entropy_base: ``(K,)``, ``E(θ0, T_j)``; must be strictly positive.
        entropy_single: ``(K, K)``, ``entropy_single[i, j] = E(θ(θ0, T_i), T_j)``
            (row = trained on, column = evaluated on).

    Returns:
        ``(K, K)`` matrix ``H`` (row = trained on, column = evaluated on).
    """
    base = np.asarray(entropy_base, dtype=np.float64)
    single = np.asarray(entropy_single, dtype=np.float64)
    k = base.shape[0]
    if single.shape != (k, k):
        raise ValueError(f"expected entropy_single of shape {(k, k)}, got {single.shape}")
    if not np.all(base > 0):
        raise ValueError("base-model entropies must be > 0 for Eq. 12")
    return single / base[None, :] - 1.0
