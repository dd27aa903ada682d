"""A curriculum predictor from two-task curricula: forward and backward transfer measured pair by pair.

Algorithm 1 (:mod:`.prediction`) assumes each task, wherever it stands in the order, reaches its single-task
accuracy when trained (Assumption 2), after which only later tasks move it, each by its BWT measured from θ0
(Assumption 1). Both transfers are measured on models that were never trained on anything else. This predictor
measures them where a curriculum meets them instead: on every ordered pair of tasks trained as a two-segment
curriculum ``i → j`` (the first segment is ``i``'s single-task run), K(K−1) extra runs. With ``P[i, j, t]``
the accuracy on task ``t`` of the pair ``i → j`` and ``a_k`` task k's single-task accuracy on itself:

- (P1) forward transfer ``F_ik = log P[i, k, k] − log a_k``: how much better (or worse) ``k`` learns when it
  starts from the model trained on ``i`` rather than from θ0;
- (P2) backward transfer ``B_kj = log P[k, j, k] − log a_k``: how much training ``j`` moves ``k`` right after
  ``k`` was trained (Algorithm 1's BWT_kj measures it on a model trained on ``j`` from θ0);
- (P3) each task of an order ``σ`` ends at
  ``log â_k(σ) = log a_k + λ_F Σ_{i before k} F_ik + λ_B Σ_{j after k} B_kj``:
  both transfers add up over the tasks before and after ``k`` (Assumption 1 for pairs), scaled by λ_F and λ_B,
  which are 1 or fitted on trained orders (:func:`fit_scales`, always leaving the predicted order out).

Algorithm 1 is the case ``F = 0``, ``B = BWT`` off the diagonal, ``a_k = a_init,k · exp(BWT_kk)``, λ = 1.
Like Eq. 9, (P3) is a sum over ordered pairs, so maximising ``S = Σ_k α_k log â_k`` (Eq. 10) is a linear
ordering problem (:func:`pairwise_lop_matrix`) and the exact solver of ``order`` applies unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .bwt import FloatArray, floor_or_refuse

PAIRWISE = "pairwise"
"""order.method that picks the pairwise predictor's order (the other methods are solvers of Algorithm 1)."""


def _positions(order: Sequence[int], k: int) -> np.ndarray:
    sigma = np.asarray(order, dtype=np.int64)
    if sigma.shape != (k,) or sorted(sigma.tolist()) != list(range(k)):
        raise ValueError(f"order must be a permutation of 0..{k - 1}, got {list(order)}")
    position = np.empty(k, dtype=np.int64)
    position[sigma] = np.arange(k)
    return position


def _pair_log_ratios(self_acc: FloatArray, pair_acc: FloatArray, on_second: bool) -> FloatArray:
    """``M[i, j] = log P[i, j, t] − log a_t`` with ``t = j`` (``on_second``) or ``t = i``; zero diagonal."""
    a = np.asarray(self_acc, dtype=np.float64)
    p = np.asarray(pair_acc, dtype=np.float64)
    k = a.shape[0]
    out = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            if i != j:
                t = j if on_second else i
                out[i, j] = np.log(p[i, j, t]) - np.log(a[t])
    return out


def forward_transfer(self_acc: FloatArray, pair_acc: FloatArray) -> FloatArray:
    """(P1): ``F[i, k] = log P[i, k, k] − log a_k``, zero on the diagonal.

    Args:
        self_acc: ``(K,)`` each task's single-task accuracy on itself, ``a_k``.
        pair_acc: ``(K, K, K)``: ``pair_acc[i, j, t]`` the accuracy on task ``t`` of the pair curriculum
            ``i → j`` (the diagonal ``i = j`` is not read).
    """
    return _pair_log_ratios(self_acc, pair_acc, on_second=True)


def backward_transfer(self_acc: FloatArray, pair_acc: FloatArray) -> FloatArray:
    """(P2): ``B[k, j] = log P[k, j, k] − log a_k``, zero on the diagonal (arguments as :func:`forward_transfer`)."""
    return _pair_log_ratios(self_acc, pair_acc, on_second=False)


def transfer_sums(forward: FloatArray, backward: FloatArray, order: Sequence[int]) -> tuple[FloatArray, FloatArray]:
    """The two sums of (P3) per task: ``Σ_{i before k} F_ik`` and ``Σ_{j after k} B_kj`` (``(K,)`` each)."""
    f = np.asarray(forward, dtype=np.float64)
    b = np.asarray(backward, dtype=np.float64)
    position = _positions(order, f.shape[0])
    before = position[:, None] < position[None, :]  # before[i, k]: i trained before k
    return (f * before).sum(axis=0), (b * before).sum(axis=1)


def pairwise_terminal_log_accuracies(self_acc: FloatArray, forward: FloatArray, backward: FloatArray,
                                     order: Sequence[int], scales: tuple[float, float] = (1.0, 1.0)) -> FloatArray:
    """(P3): ``log â_k(σ) = log a_k + λ_F Σ_{i before k} F_ik + λ_B Σ_{j after k} B_kj``, indexed by task."""
    into, out_of = transfer_sums(forward, backward, order)
    return np.log(np.asarray(self_acc, dtype=np.float64)) + scales[0] * into + scales[1] * out_of


def pairwise_lop_matrix(forward: FloatArray, backward: FloatArray, weights: FloatArray,
                        scales: tuple[float, float] = (1.0, 1.0)) -> FloatArray:
    """LOP weights of Eq. 10 under (P3): placing ``a`` before ``b`` earns
    ``W_ab = α_b λ_F F_ab + α_a λ_B B_ab`` (``b`` learns from ``a``; ``a`` is moved by ``b``), zero diagonal."""
    alpha = np.asarray(weights, dtype=np.float64)
    w = alpha[None, :] * scales[0] * np.asarray(forward, dtype=np.float64) \
        + alpha[:, None] * scales[1] * np.asarray(backward, dtype=np.float64)
    np.fill_diagonal(w, 0.0)
    return w


def fit_scales(self_acc: FloatArray, forward: FloatArray, backward: FloatArray, orders: Sequence[Sequence[int]],
               measured: FloatArray) -> tuple[float, float]:
    """λ_F and λ_B of (P3) by least squares on log accuracy over trained orders (every task of every order one
    equation: ``log m_k(σ) − log a_k = λ_F Σ_before F + λ_B Σ_after B``). ``measured[n, k]``: task k's accuracy
    after ``orders[n]``. A direction with no information (all its sums zero) keeps its scale at 1."""
    rows, targets = [], []
    log_self = np.log(np.asarray(self_acc, dtype=np.float64))
    for order, acc in zip(orders, np.asarray(measured, dtype=np.float64)):
        into, out_of = transfer_sums(forward, backward, order)
        rows += list(zip(into, out_of))
        targets += list(np.log(acc) - log_self)
    x, y = np.asarray(rows, dtype=np.float64).reshape(-1, 2), np.asarray(targets, dtype=np.float64)
    informative = np.abs(x).sum(axis=0) > 0
    scales = np.ones(2)
    if informative.any():
        fitted, *_ = np.linalg.lstsq(x[:, informative], y - x[:, ~informative] @ scales[~informative], rcond=None)
        scales[informative] = fitted
    return float(scales[0]), float(scales[1])


def leave_one_order_out(self_acc: FloatArray, forward: FloatArray, backward: FloatArray,
                        orders: Sequence[Sequence[int]], measured: FloatArray) -> FloatArray:
    """(P3)'s predicted accuracies of every trained order with λ fitted on the *other* orders only
    (:func:`fit_scales`), ``(N, K)``: an honest out-of-sample prediction of each. Needs at least two orders."""
    if len(orders) < 2:
        raise ValueError("leave-one-order-out needs at least two trained orders")
    measured = np.asarray(measured, dtype=np.float64)
    out = np.empty_like(measured)
    for n, order in enumerate(orders):
        rest = [m for m in range(len(orders)) if m != n]
        scales = fit_scales(self_acc, forward, backward, [orders[m] for m in rest], measured[rest])
        out[n] = np.exp(pairwise_terminal_log_accuracies(self_acc, forward, backward, order, scales))
    return out


def spearman(x: FloatArray, y: FloatArray) -> float:
    """Spearman's rank correlation of two samples (average ranks for ties; NaN with fewer than 2 values or a
    constant sample)."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.shape[0] < 2:
        return float("nan")

    def ranks(v: np.ndarray) -> np.ndarray:
        order = np.argsort(v, kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=np.float64)
        for value in np.unique(v):  # ties share their mean rank
            tie = v == value
            r[tie] = r[tie].mean()
        return r

    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def prediction_errors(predicted: FloatArray, measured: FloatArray, base: FloatArray) -> dict[str, float]:
    """How well predicted per-task accuracies of N orders (``(N, K)``) match the measured ones: the mean absolute
    error per task, the mean absolute error of Δrel (Eq. 14 against θ0's ``base``), and the Spearman correlation of
    predicted and measured Δrel over the orders."""
    p, m = np.asarray(predicted, dtype=np.float64), np.asarray(measured, dtype=np.float64)
    log_base = np.log(np.asarray(base, dtype=np.float64))
    dp, dm = (np.log(p) - log_base).mean(axis=1), (np.log(m) - log_base).mean(axis=1)
    return {"task_mae": float(np.abs(p - m).mean()), "delta_rel_mae": float(np.abs(dp - dm).mean()),
            "spearman": spearman(dp, dm)}


@dataclass(frozen=True)
class PairwisePredictor:
    """The predictor of (P1)–(P3) for one split: ``a_k``, ``F``, ``B`` and the scales λ_F, λ_B."""

    self_acc: FloatArray
    forward: FloatArray
    backward: FloatArray
    scales: tuple[float, float] = (1.0, 1.0)

    @classmethod
    def from_pairs(cls, self_acc: FloatArray, pair_acc: FloatArray,
                   scales: tuple[float, float] = (1.0, 1.0)) -> "PairwisePredictor":
        """From the single-task accuracies ``a_k`` and the pair cube ``P[i, j, t]`` (:func:`forward_transfer`)."""
        return cls(np.asarray(self_acc, dtype=np.float64), forward_transfer(self_acc, pair_acc),
                   backward_transfer(self_acc, pair_acc), (float(scales[0]), float(scales[1])))

    @classmethod
    def from_measured(cls, self_acc: FloatArray, pair_acc: FloatArray, floor: float | None,
                      scales: tuple[float, float], source: str) -> "PairwisePredictor":
        """:meth:`from_pairs` with the pair accuracies raised to ``floor`` before logs, as the transfer table's are
        (without a floor, an accuracy of 0 is an error naming ``source``)."""
        return cls.from_pairs(self_acc, floor_or_refuse(pair_acc, floor, source), scales)

    def accuracies(self, order: Sequence[int]) -> FloatArray:
        """(P3)'s terminal accuracies of ``order``, indexed by task."""
        return np.exp(pairwise_terminal_log_accuracies(self.self_acc, self.forward, self.backward, order,
                                                       self.scales))

    def lop(self, weights: FloatArray) -> FloatArray:
        """The LOP matrix of Eq. 10 under (P3) (:func:`pairwise_lop_matrix`)."""
        return pairwise_lop_matrix(self.forward, self.backward, weights, self.scales)

    def rescaled(self, scales: tuple[float, float]) -> "PairwisePredictor":
        return PairwisePredictor(self.self_acc, self.forward, self.backward, (float(scales[0]), float(scales[1])))
