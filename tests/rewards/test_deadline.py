"""The deadline pool: every call in a fresh fork of a clean template, under a deadline and an address-space limit;
a timeout does not cascade, and no call changes the state later calls run in."""

from __future__ import annotations

import os
import time

import psutil

from pipeline.rewards.deadline import FAILED, OUT_OF_MEMORY, TIMEOUT, DeadlinePool

SEEN: list[float] = []  # module state of the template: a call that appends to it must not be seen by the next


def slow_or_fast(x: float) -> float:
    import sympy  # a slow import (seconds): a template that paid it in a call would miss 0.3 s

    if x < 0:
        time.sleep(60)
    return float(sympy.Integer(2) * x)


def remember(x: float) -> int:
    """Rebinds module state (as a hostile call would); returns how much of it the call found."""
    global slow_or_fast
    SEEN.append(x)
    slow_or_fast = lambda x: 999.0  # noqa: E731
    return len(SEEN)


def pid_then_hang(path: str) -> None:
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)


def allocate(mb: int) -> int:
    return len(bytearray(mb << 20)) >> 20


def test_timeouts_do_not_cascade_and_templates_are_not_restarted():
    # sympy stands in for math-verify: a module the workers need, preloaded.
    with DeadlinePool(slow_or_fast, workers=2, timeout_s=0.3, preload=("sympy",)) as pool:
        results = pool.map([(-1.0,), (-1.0,)] + [(float(i),) for i in range(20)])
        assert results[:2] == [TIMEOUT, TIMEOUT]
        assert results[2:] == [2.0 * i for i in range(20)]  # every call after a timeout succeeds
        assert sum(w.restarts for w in pool.workers) == 0  # the fork was killed, the template kept


def test_a_raising_call_is_failed():
    with DeadlinePool(int, workers=1, timeout_s=5.0) as pool:
        assert pool.map([("12",), ("not a number",), ("13",)]) == [12, FAILED, 13]


def test_no_call_sees_what_an_earlier_call_changed():
    with DeadlinePool(remember, workers=1, timeout_s=5.0, preload=(__name__,)) as pool:
        assert pool.map([(1.0,), (2.0,), (3.0,)]) == [1, 1, 1]
    with DeadlinePool(slow_or_fast, workers=1, timeout_s=5.0, preload=(__name__,)) as pool:
        assert pool.call(1.0) == 2.0


def test_a_timed_out_call_leaves_no_process(tmp_path):
    marker = tmp_path / "pid"
    with DeadlinePool(pid_then_hang, workers=1, timeout_s=0.5) as pool:
        assert pool.call(str(marker)) is TIMEOUT
        pid = int(marker.read_text())
        assert not psutil.pid_exists(pid)
        assert psutil.Process(pool.workers[0].proc.pid).children() == []


def test_memory_is_capped_per_call_and_the_next_call_runs():
    with DeadlinePool(allocate, workers=1, timeout_s=10.0, memory_mb=256) as pool:
        assert pool.map([(4096,), (16,)]) == [OUT_OF_MEMORY, 16]


def test_a_dead_template_is_replaced():
    with DeadlinePool(int, workers=1, timeout_s=2.0) as pool:
        pool.workers[0].proc.kill()
        pool.workers[0].proc.join()
        assert pool.call("1") == 1  # runs on the template that replaced the dead one
        assert pool.workers[0].restarts == 1 and pool.call("7") == 7


def test_templates_start_on_the_first_call_only():
    """No process until a call needs one (a batch decided by plain string work costs no start-up), and a closed
    pool leaves none."""
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    with DeadlinePool(int, workers=2, timeout_s=5.0) as pool:
        assert pool.map([]) == [] and {p.pid for p in me.children(recursive=True)} == before
        assert pool.map([("4",), ("5",)]) == [4, 5]
        started = [w.proc.pid for w in pool.workers]
        assert len(started) == 2 and all(psutil.pid_exists(pid) for pid in started)
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in started)


def test_a_math_batch_of_plain_pairs_starts_no_verifier():
    from pipeline.rewards.math import MathScorer

    scorer = MathScorer(workers=1)
    assert scorer.score_many([("<answer>\\boxed{12}</answer>", "12"), ("<answer>3</answer>", "4")]) == [1.0, 0.0]
    assert scorer.pool._workers is None
    assert scorer.score_many([("<answer>\\frac{1}{2}</answer>", "0.5")]) == [1.0]
    assert scorer.pool._workers is not None
    scorer.pool.close()
