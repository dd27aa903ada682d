"""The deadline pool: a killed worker is replaced by a ready one, so timeouts do not cascade."""

from __future__ import annotations

import time

from pipeline.rewards.deadline import TIMEOUT, DeadlinePool


def slow_or_fast(x: float) -> float:
    import sympy  # a slow import (seconds): a fresh worker that pays it in a call misses 0.3 s

    if x < 0:
        time.sleep(60)
    return float(sympy.Integer(2) * x)


def test_replacement_workers_start_ready_and_timeouts_do_not_cascade():
    # sympy stands in for math-verify: a module the workers need, preloaded.
    with DeadlinePool(slow_or_fast, workers=2, timeout_s=0.3, preload=("sympy",)) as pool:
        start = time.monotonic()
        results = pool.map([(-1.0,), (-1.0,)] + [(float(i),) for i in range(20)])
        elapsed = time.monotonic() - start
        assert results[:2] == [TIMEOUT, TIMEOUT]
        assert results[2:] == [2.0 * i for i in range(20)]  # every call after a kill succeeds
        assert sum(w.restarts for w in pool.workers) == 2
        assert elapsed < 10.0


def test_a_raising_call_returns_none():
    with DeadlinePool(int, workers=1, timeout_s=5.0) as pool:
        assert pool.map([("12",), ("not a number",)]) == [12, None]
