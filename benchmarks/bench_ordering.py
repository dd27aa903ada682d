#!/usr/bin/env python
"""Ordering solvers on random BWT matrices (issue: analysis core).

Targets on the 2-core reference machine:
- exact LOP (subset DP) for K = 8, 12, 16, 20, with K = 20 in at most 5 s;
- the insertion heuristic for K = 100 in at most 10 s, reporting its upper bound.

Prints one line per case and exits non-zero if a target is missed.
Usage: python benchmarks/bench_ordering.py [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from pipeline.analysis.ordering import exact_lop, heuristic_lop
from pipeline.analysis.scores import lop_matrix

TARGET_EXACT_K20_S = 5.0
TARGET_HEURISTIC_K100_S = 10.0


def random_lop(k: int, seed: int) -> np.ndarray:
    """i.i.d. N(0, 0.1²) BWT: the hardest case for bounds (no structure to exploit)."""
    rng = np.random.default_rng(seed)
    return lop_matrix(rng.normal(0.0, 0.1, size=(k, k)), np.ones(k))


def structured_lop(k: int, seed: int) -> np.ndarray:
    """BWT-like: a task-type effect (rank 2, as the paper's entropy story suggests) plus noise."""
    rng = np.random.default_rng(seed)
    source, target = rng.normal(0.0, 0.1, size=(2, k))
    return lop_matrix(np.outer(np.ones(k), source) + 0.5 * np.outer(target, source) + rng.normal(0, 0.02, (k, k)),
                      np.ones(k))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (best is reported)")
    args = parser.parse_args()
    ok = True
    for k in (8, 12, 16, 20):
        times = []
        for r in range(args.repeats):
            w = random_lop(k, seed=r)
            t0 = time.perf_counter()
            exact_lop(w)
            times.append(time.perf_counter() - t0)
        best = min(times)
        verdict = ""
        if k == 20:
            passed = best <= TARGET_EXACT_K20_S
            ok &= passed
            verdict = f"  target <= {TARGET_EXACT_K20_S:.0f} s: {'PASS' if passed else 'FAIL'}"
        print(f"exact     K={k:3d}  best {best:8.3f} s  (runs: {', '.join(f'{t:.3f}' for t in times)}){verdict}")
    for kind, k in (("random", 50), ("random", 100), ("structured", 100)):
        w = (random_lop if kind == "random" else structured_lop)(k, seed=0)
        t0 = time.perf_counter()
        r = heuristic_lop(w, restarts=20, seed=0)
        dt = time.perf_counter() - t0
        rel = r.gap / abs(r.upper_bound) if r.upper_bound else float("nan")
        verdict = ""
        if k == 100:
            passed = dt <= TARGET_HEURISTIC_K100_S
            ok &= passed
            verdict = f"  target <= {TARGET_HEURISTIC_K100_S:.0f} s: {'PASS' if passed else 'FAIL'}"
        print(f"heuristic K={k:3d} {kind:>10}  {dt:6.3f} s  runs={r.info['runs']}  value={r.value:.4f}  "
              f"upper bound={r.upper_bound:.4f}  gap={r.gap:.4f} ({rel:.2%} of bound){verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
