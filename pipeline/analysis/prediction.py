"""A priori prediction of terminal accuracies under constant BWT (Section 3.1).

Two independent implementations of the same predictor:

- :func:`algorithm1_terminal_accuracies` transcribes Algorithm 1 line by line;
- :func:`eq9_terminal_log_accuracies` evaluates the closed form of Eq. 9 with the
  permutation matrix Φσ.

A property test checks they agree on random matrices and orders.

An order ``σ`` is a sequence of task indices: ``order[j]`` is the task trained at
position ``j`` (0-based), i.e. the paper's ``σ(j+1)``.

**Reading of Eq. 9.** The paper prints
``log Acc(σ) − log Acc(Id) = Σ_{i<j} (Φσ⁻¹ BWT Φσ)_ij``. Read with ``Id`` the
identity *permutation*, the identity order would have to give zero on the right,
which holds only if the upper triangle of BWT sums to zero, so that reading
contradicts Algorithm 1. What Algorithm 1 does give exactly is

    Σ_k log Acc_k(σ) − Σ_k log Acc(θ(θ0, T_k), T_k) = Σ_{i<j} (Φσ⁻¹ BWT Φσ)_ij,

i.e. ``Acc(Id)`` is the vector of single-task (saturated) self-accuracies
``Acc(θ0, T_k)·exp(BWT_kk)`` — the point each task reaches when it is trained
(Assumption 2) — and row ``i`` of the permuted upper triangle is the per-task
gain of the task trained at position ``i``. Differences between two orders are
differences of upper-triangular sums, as the paper's "in words" sentence says.
:func:`eq9_upper_triangular_gain` returns that scalar.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .bwt import FloatArray


def _check_order(order: Sequence[int], k: int) -> np.ndarray:
    sigma = np.asarray(order, dtype=np.int64)
    if sigma.shape != (k,) or sorted(sigma.tolist()) != list(range(k)):
        raise ValueError(f"order must be a permutation of 0..{k - 1}, got {list(order)}")
    return sigma


def permutation_matrix(order: Sequence[int] | np.ndarray) -> FloatArray:
    """Φσ of Eq. 9: ``Φσ[i, j] = 1{i = σ(j)}``, shape ``(K, K)``."""
    sigma = np.asarray(order, dtype=np.int64)
    k = sigma.shape[0]
    phi = np.zeros((k, k), dtype=np.float64)
    phi[sigma, np.arange(k)] = 1.0
    return phi


def algorithm1_terminal_accuracies(bwt: FloatArray, acc_base: FloatArray, order: Sequence[int]) -> FloatArray:
    """Algorithm 1 ("Final Accuracy under Assumptions 1 and 2"), transcribed literally.

    ``a ← a_init``; for each task ``k = σ(j)`` in order: reset ``a_k ← a_init,k``
    (saturation, Assumption 2, completed by the ``i = k`` step below), then
    ``a_i ← a_i · exp(BWT_ik)`` for every ``i`` (constant transfer, Assumption 1).

    Args:
        bwt: ``(K, K)`` BWT matrix (rows evaluated-on, columns trained-on).
        acc_base: ``(K,)`` accuracies of θ0, ``a_init``.
        order: the curriculum σ as task indices in training order.

    Returns:
        ``(K,)`` predicted terminal accuracies, indexed by task. They may exceed 1.
    """
    b = np.asarray(bwt, dtype=np.float64)
    a_init = np.asarray(acc_base, dtype=np.float64)
    k_tasks = a_init.shape[0]
    sigma = _check_order(order, k_tasks)
    a = a_init.copy()
    for k in sigma:
        a[k] = a_init[k]
        for i in range(k_tasks):
            a[i] = a[i] * np.exp(b[i, k])
    return a


def eq9_terminal_log_accuracies(bwt: FloatArray, acc_base: FloatArray, order: Sequence[int]) -> FloatArray:
    """Closed form of Algorithm 1 (Eq. 9), per task, in log space.

    With ``M = Φσ⁻¹ BWT Φσ`` (so ``M_ij = BWT_{σ(i)σ(j)}``), the task trained at
    position ``i`` ends at

        ``log a_σ(i) = log a_init,σ(i) + BWT_σ(i)σ(i) + Σ_{j>i} M_ij``.

    Summing over ``i`` gives Eq. 9 (see the module docstring for the reading of
    ``Acc(Id)``).

    Returns:
        ``(K,)`` predicted terminal log-accuracies, indexed by task.
    """
    b = np.asarray(bwt, dtype=np.float64)
    a_init = np.asarray(acc_base, dtype=np.float64)
    sigma = _check_order(order, a_init.shape[0])
    phi = permutation_matrix(sigma)
    permuted = phi.T @ b @ phi  # Φσ⁻¹ = Φσᵀ for a permutation matrix
    per_position = np.triu(permuted, k=1).sum(axis=1)
    log_acc = np.log(a_init) + np.diag(b)
    log_acc[sigma] += per_position
    return log_acc


def eq9_upper_triangular_gain(bwt: FloatArray, order: Sequence[int]) -> float:
    """Right-hand side of Eq. 9: ``Σ_{i<j} (Φσ⁻¹ BWT Φσ)_ij``.

    Equals ``Σ_k log Acc_k(σ) − Σ_k log Acc(θ(θ0, T_k), T_k)`` under Algorithm 1.
    """
    b = np.asarray(bwt, dtype=np.float64)
    sigma = _check_order(order, b.shape[0])
    phi = permutation_matrix(sigma)
    return float(np.triu(phi.T @ b @ phi, k=1).sum())


def terminal_log_accuracies_batch(bwt: FloatArray, acc_base: FloatArray, orders: np.ndarray) -> FloatArray:
    """Eq. 9's per-task closed form for many orders at once.

    Args:
        orders: ``(N, K)`` integer array, one permutation per row.

    Returns:
        ``(N, K)`` log-accuracies indexed by task:
        ``log a_init,i + BWT_ii + Σ_j BWT_ij · 1{pos(j) > pos(i)}``.
    """
    b = np.asarray(bwt, dtype=np.float64)
    sigma = np.asarray(orders, dtype=np.int64)
    n, k = sigma.shape
    position = np.empty_like(sigma)
    position[np.arange(n)[:, None], sigma] = np.arange(k)[None, :]
    later = position[:, None, :] > position[:, :, None]  # later[n, i, j]: j trained after i
    return np.log(np.asarray(acc_base, dtype=np.float64)) + np.diag(b) + np.einsum("ij,nij->ni", b, later)
