"""Aggregated scores of a curriculum: S (Eq. 10), Δrel (Eq. 14), and the LOP matrix.

Under Algorithm 1 (see :mod:`.prediction`), for weights α,

    S(σ) = Σ_k α_k (log a_init,k + BWT_kk) + Σ_{p<q} α_σ(p) BWT_σ(p)σ(q),

so maximising S over σ is a Linear Ordering Problem on the matrix
``W_ab = α_a · BWT_ab`` (``a ≠ b``): placing ``a`` before ``b`` earns ``W_ab``
(task ``a``'s accuracy is moved by training ``b`` after it).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .bwt import FloatArray


def score_s(log_accuracies: FloatArray, weights: FloatArray) -> float:
    """Aggregated score, Eq. 10: ``S = Σ_T α_T log Acc(θ, T)``."""
    return float(np.dot(np.asarray(weights, dtype=np.float64), np.asarray(log_accuracies, dtype=np.float64)))


def delta_rel(acc_final: FloatArray, acc_base: FloatArray) -> float:
    """Geometric-average relative improvement, Eq. 14 (natural log, not ×100).

    ``Δrel = (1/K) log Π_k Acc(θ_smax, T_k) / Acc(θ0, T_k)``.
    """
    final = np.asarray(acc_final, dtype=np.float64)
    base = np.asarray(acc_base, dtype=np.float64)
    return float(np.mean(np.log(final) - np.log(base)))


def lop_matrix(bwt: FloatArray, weights: FloatArray) -> FloatArray:
    """LOP weights implied by Eq. 10 under Algorithm 1: ``W_ab = α_a BWT_ab``, zero diagonal."""
    w = np.asarray(weights, dtype=np.float64)[:, None] * np.asarray(bwt, dtype=np.float64)
    np.fill_diagonal(w, 0.0)
    return w


def lop_value(w: FloatArray, order: Sequence[int]) -> float:
    """Linear-ordering objective: ``Σ_{p<q} W[σ(p), σ(q)]``."""
    sigma = np.asarray(order, dtype=np.int64)
    position = np.empty_like(sigma)
    position[sigma] = np.arange(sigma.shape[0])
    before = position[:, None] < position[None, :]
    return float(np.asarray(w, dtype=np.float64)[before].sum())


def lop_constant(bwt: FloatArray, acc_base: FloatArray, weights: FloatArray) -> float:
    """Order-independent part of S: ``Σ_k α_k (log a_init,k + BWT_kk)``."""
    w = np.asarray(weights, dtype=np.float64)
    return float(np.dot(w, np.log(np.asarray(acc_base, dtype=np.float64)) + np.diag(np.asarray(bwt, dtype=np.float64))))
