"""Curriculum choice via linear ordering (Section 3.2).

All solvers work on the LOP matrix ``W`` of :func:`.scores.lop_matrix`
(``W_ab = α_a BWT_ab``: the gain of training ``b`` *after* ``a``) and maximise
``Σ_{p<q} W[σ(p), σ(q)]``, which is S (Eq. 10) up to a constant under Algorithm 1.

Solvers (registry :data:`SOLVERS`):

- ``exact``: dynamic programming over subsets, ``O(K² 2^K)`` time, exact for K ≤ 20
  (proven equal to brute force for K ≤ 8 by the tests);
- ``greedy``: Algorithm 2, in the index order consistent with Algorithm 1 (below);
- ``forgettability``: rank tasks by decreasing forgettability score ``F_k``;
- ``heuristic``: insertion local search with restarts for large K, reported with
  an upper bound (:mod:`.bounds`) so that the optimality gap is known.

**Index order of Algorithm 2 and F_k.** The paper prints
``k* ← argmax_k Σ_{i∉σ∪{k}} BWT_ik`` and ``F_k := α_k Σ_{i≠k} BWT_ik`` (column sums:
how training ``k`` moves the *other* tasks). Under Algorithm 1 that effect only
lands on tasks trained *before* ``k``, while the tasks still unvisited come after
``k`` and are reset by their own training (Assumption 2). Appending ``k`` now fixes
``k`` before every remaining task, which earns ``Σ_i W_ki = α_k Σ_i BWT_ki``: the row
of ``k``, how much training the others moves ``k``. So the consistent greedy is

    ``k* ← argmax_{k∉σ} Σ_{i∉σ∪{k}} BWT_ki``      (row sums, i.e. BWTᵀ of the print),

and ``F_k := α_k Σ_{i≠k} BWT_ki``: order tasks from least to most forgettable, as
Section 6 of the paper says. This transposition is what makes (a) greedy exact
for K = 2, where the printed version picks the *worse* of the two orders whenever
``BWT_12 ≠ BWT_21``; (b) the weight α_k sit on the right index (the row of ``k``
in ``W``); (c) Algorithm 2 return Code→Math→QA→Writing on the test BWT implied by
the paper's Table 1, as Section 5.1 reports (the printed index order returns
Writing first there). The tests pin all three.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..registry import Registry
from .bounds import pairwise_upper_bound, triangle_lp_upper_bound
from .bwt import FloatArray
from .scores import lop_value

EXACT_MAX_K = 20
"""Largest K solved exactly by default (2^20 subsets; about 2 s here)."""


@dataclass(frozen=True)
class OrderResult:
    """A curriculum σ (task indices in training order) and its LOP objective."""

    order: tuple[int, ...]
    value: float
    solver: str
    exact: bool
    upper_bound: float | None = None
    info: dict[str, float | int] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Upper bound minus achieved value (0 for exact solvers)."""
        if self.exact:
            return 0.0
        return None if self.upper_bound is None else self.upper_bound - self.value


Solver = Callable[..., OrderResult]
SOLVERS: Registry[Solver] = Registry("solver")
register_solver = SOLVERS.register


def _as_square(w: FloatArray) -> np.ndarray:
    m = np.asarray(w, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"LOP matrix must be square, got shape {m.shape}")
    return m


def brute_force_lop(w: FloatArray) -> OrderResult:
    """Enumerate all K! orders (reference implementation for tests; K ≤ 9).

    Ties are broken by the lexicographically smallest order.
    """
    m = _as_square(w)
    k = m.shape[0]
    if k > 9:
        raise ValueError(f"brute force is limited to K <= 9, got K={k}")
    best: tuple[float, tuple[int, ...]] | None = None
    for perm in itertools.permutations(range(k)):
        value = lop_value(m, perm)
        if best is None or value > best[0] + 1e-12:
            best = (value, perm)
    assert best is not None
    return OrderResult(order=best[1], value=best[0], solver="brute_force", exact=True)


@register_solver("exact")
def exact_lop(w: FloatArray, max_k: int = EXACT_MAX_K, **_: object) -> OrderResult:
    """Exact LOP by dynamic programming over subsets (Held–Karp style).

    ``best[S] = max_{k∈S} best[S∖k] + Σ_{a∈S∖k} W[a, k]``: the best value of an
    ordering of the set ``S`` as a prefix, with ``k`` trained last among ``S``.
    Vectorised by subset size; memory ``O(K 2^K)`` floats (170 MB at K = 20).
    """
    m = _as_square(w)
    k = m.shape[0]
    if k > max_k:
        raise ValueError(f"exact LOP is limited to K <= {max_k} (got K={k}); use the 'heuristic' solver")
    n = 1 << k
    # into[t, S] = Σ_{a∈S} W[a, t]: what task t earns when it follows the set S.
    into = np.zeros((k, n), dtype=np.float64)
    size = np.zeros(n, dtype=np.int8)
    for b in range(k):
        lo, hi = 1 << b, 1 << (b + 1)
        into[:, lo:hi] = into[:, :lo] + m[b][:, None]
        size[lo:hi] = size[:lo] + 1
    best = np.full(n, -np.inf)
    best[0] = 0.0
    last = np.full(n, -1, dtype=np.int8)
    for layer in range(1, k + 1):
        subsets = np.flatnonzero(size == layer)
        layer_best = np.full(subsets.shape[0], -np.inf)
        layer_last = np.zeros(subsets.shape[0], dtype=np.int8)
        for t in range(k):
            has_t = np.flatnonzero((subsets >> t) & 1)
            prev = subsets[has_t] ^ (1 << t)
            cand = best[prev] + into[t, prev]
            better = cand > layer_best[has_t]
            layer_best[has_t[better]] = cand[better]
            layer_last[has_t[better]] = t
        best[subsets] = layer_best
        last[subsets] = layer_last
    order: list[int] = []
    s = n - 1
    while s:
        t = int(last[s])
        order.append(t)
        s ^= 1 << t
    order.reverse()
    return OrderResult(order=tuple(order), value=float(best[n - 1]), solver="exact", exact=True)


@register_solver("greedy")
def greedy_order(w: FloatArray, **_: object) -> OrderResult:
    """Algorithm 2 (Greedy BWT-LOM), in the index order consistent with Algorithm 1.

    Repeatedly append ``k* = argmax_{k∉σ} Σ_{i∉σ∪{k}} W[k, i]`` (ties: lowest index),
    with ``W_ki = α_k BWT_ki``; see the module docstring for why the row, not the
    printed column, is summed.
    """
    m = _as_square(w)
    remaining = list(range(m.shape[0]))
    order: list[int] = []
    while remaining:
        gains = [m[k, [i for i in remaining if i != k]].sum() for k in remaining]
        k_star = remaining[int(np.argmax(gains))]
        order.append(k_star)
        remaining.remove(k_star)
    return OrderResult(order=tuple(order), value=lop_value(m, order), solver="greedy", exact=False,
                       upper_bound=pairwise_upper_bound(m))


def forgettability_scores(w: FloatArray) -> FloatArray:
    """Forgettability ``F_k = α_k Σ_{i≠k} BWT_ki = Σ_{i≠k} W[k, i]`` (Section 3.2, transposed; see module doc).

    A high ``F_k`` means training the other tasks barely hurts (or helps) ``k``:
    ``k`` is hard to forget and goes first.
    """
    m = _as_square(w).copy()
    np.fill_diagonal(m, 0.0)
    return m.sum(axis=1)


@register_solver("forgettability")
def forgettability_order(w: FloatArray, **_: object) -> OrderResult:
    """Order tasks by decreasing forgettability score ``F_k`` (stable: ties keep index order)."""
    m = _as_square(w)
    f = forgettability_scores(m)
    order = tuple(int(i) for i in np.argsort(-f, kind="stable"))
    return OrderResult(order=order, value=lop_value(m, order), solver="forgettability", exact=False,
                       upper_bound=pairwise_upper_bound(m))


def insertion_local_search(w: FloatArray, order: list[int], rng: np.random.Generator) -> list[int]:
    """Best-insertion local search to a local optimum of the LOP.

    For a task ``x`` removed from the order, inserting it at position ``q`` of the
    rest ``r`` earns ``Σ_{i<q} W[r_i, x] + Σ_{i≥q} W[x, r_i]``, i.e. a constant plus the
    prefix sum of ``d_i = W[r_i, x] − W[x, r_i]``; each move is ``O(K)``.
    """
    m = _as_square(w)
    current = list(order)
    improved = True
    while improved:
        improved = False
        for x in rng.permutation(len(current)).tolist():
            p = current.index(x)
            rest = current[:p] + current[p + 1:]
            d = m[rest, x] - m[x, rest]
            prefix = np.concatenate(([0.0], np.cumsum(d)))
            q = int(np.argmax(prefix))
            if prefix[q] > prefix[p] + 1e-12:
                current = rest[:q] + [x] + rest[q:]
                improved = True
    return current


@register_solver("heuristic")
def heuristic_lop(w: FloatArray, restarts: int = 20, seed: int = 0, time_limit_s: float = 4.0,
                  bound_time_limit_s: float = 4.0, **_: object) -> OrderResult:
    """Large-K LOP: insertion local search from greedy, forgettability and random starts.

    Stops after ``restarts`` random restarts or ``time_limit_s`` seconds (the two
    deterministic starts always run). Reports the triangle-LP upper bound (at most
    ``bound_time_limit_s`` of cutting planes) so that the optimality gap is known.
    """
    m = _as_square(w)
    k = m.shape[0]
    rng = np.random.default_rng(seed)
    starts = [list(greedy_order(m).order), list(forgettability_order(m).order)]
    t0 = time.perf_counter()
    best_order, best_value, runs = starts[0], -np.inf, 0
    while starts or (runs < restarts + 2 and time.perf_counter() - t0 < time_limit_s):
        start = starts.pop(0) if starts else rng.permutation(k).tolist()
        candidate = insertion_local_search(m, start, rng)
        value = lop_value(m, candidate)
        if value > best_value + 1e-12:
            best_order, best_value = candidate, value
        runs += 1
    search_s = time.perf_counter() - t0
    # A feasible value can't exceed a valid bound; max() only absorbs LP round-off.
    upper = max(triangle_lp_upper_bound(m, time_limit_s=bound_time_limit_s), float(best_value))
    return OrderResult(order=tuple(best_order), value=float(best_value), solver="heuristic",
                       exact=bool(best_value >= upper - 1e-9), upper_bound=upper,
                       info={"runs": runs, "search_seconds": search_s,
                             "bound_seconds": time.perf_counter() - t0 - search_s})
