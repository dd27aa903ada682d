#!/usr/bin/env python
"""Reward throughput on this machine (issue: hybrid rewards).

1. Sandboxed test executions per second (bubblewrap + rlimits + harness, up to
   ``programs_per_sandbox`` programs per sandbox, reset between them) against bare ``python -c``
   subprocesses, same worker count. Target: at least 2/3 of the bare rate (a fresh sandbox per
   program reached about 1.1x; batches about 6x).
2. Math verification per second on MATH-500's answers (../shared/data/math500), each against itself and
   against the next row's answer, with the number of hangs (deadline hits). Target: zero hangs.
3. Judge throughput with concurrency against sequential calls, on a local
   OpenAI-compatible server with 50 ms injected latency, in steady state (clients and
   connections warmed up, as across the steps of a run). Target: at least 10x; a
   repeated run makes 0 calls.

Usage: python benchmarks/bench_rewards.py [--n 60] [--judge-n 200] [--only sandbox|math|judge]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.config import JudgeParams  # noqa: E402
from pipeline.rewards.code import CodeScorer  # noqa: E402
from pipeline.rewards.judge import LLMJudge  # noqa: E402
from pipeline.rewards.math import MathScorer  # noqa: E402
from pipeline.rewards.sandbox import Sandbox, SandboxLimits  # noqa: E402
from tests.openai_server import OpenAIServer, completion  # noqa: E402

CONCURRENCY = 64
CHECK = json.dumps({"functional": "def check(candidate):\n    assert candidate(2) == 4\n\ncheck(f)"})
RESPONSE = "<think>x</think><answer>```python\ndef f(x):\n    return 2 * x  # {i}\n```</answer>"  # distinct programs


def bench_sandbox(n: int, workers: int) -> bool:
    scorer = CodeScorer(Sandbox(SandboxLimits(timeout_s=10), slots=workers), workers=workers)
    scorer.score_many([(RESPONSE.format(i=-i), CHECK) for i in range(1, workers + 1)])  # warm-up
    t0 = time.perf_counter()
    scores = [o.score for o in scorer.score_many([(RESPONSE.format(i=i), CHECK) for i in range(n)])]
    sandboxed = n / (time.perf_counter() - t0)
    assert scores == [1.0] * n
    bare_cmd = [sys.executable, "-c",  # output captured, as any scorer must
                "def f(x):\n    return 2 * x\nassert f(2) == 4"]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: subprocess.run(bare_cmd, check=True, capture_output=True), range(n)))
    bare = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()  # for reference: the interpreter start alone, as the sandbox runs it
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: subprocess.run([sys.executable, "-I", "-S", "-B", "-c", "pass"], check=True,
                                               capture_output=True), range(n)))
    floor = n / (time.perf_counter() - t0)
    ratio = sandboxed / bare
    print(f"sandbox: {sandboxed:6.1f} tests/s  bare python -c: {bare:6.1f}/s  (python -I -S -B -c pass: "
          f"{floor:6.1f}/s)  ratio {ratio:.2f}  "
          f"(isolated={scorer.sandbox.isolated})  target >= 0.67: {'PASS' if ratio >= 2 / 3 else 'FAIL'}")
    return ratio >= 2 / 3


def bench_math(workers: int) -> bool:
    path = REPO.parent / "shared" / "data" / "math500" / "test.jsonl"
    if not path.exists():
        print("math: ../shared/data/math500 not present, skipped")
        return True
    golds = [json.loads(line)["answer"] for line in path.read_text().splitlines()]
    hangs = 0
    # gold: each answer against itself (what a group's correct answers cost); wrong: against the next row's
    # answer (every pair goes through math-verify and the symbolic fallback: the worst case per answer).
    for name, items in (("gold self-match", [(f"<think>x</think><answer>{g}</answer>", g) for g in golds]),
                        ("wrong answers", [(f"<think>x</think><answer>{golds[(i + 1) % len(golds)]}</answer>", g)
                                           for i, g in enumerate(golds)])):
        scorer = MathScorer(workers=workers, timeout_s=5)
        t0 = time.perf_counter()
        scores = scorer.score_many(items)
        rate = len(items) / (time.perf_counter() - t0)
        scorer.close()
        hangs += scorer.counts["timeout"]
        print(f"math-verify, {name}: {rate:8.1f} answers/s on {len(items)} MATH-500 answers; "
              f"verified {sum(scores):.0f}/{len(items)}; hangs {scorer.counts['timeout']}")
    print(f"math: target 0 hangs: {'PASS' if hangs == 0 else 'FAIL'}")
    return hangs == 0


def _serve_slow_judge(conn) -> None:
    """A judge endpoint in its own process (as a real one would be), 50 ms per reply."""
    def slow(body, k):
        time.sleep(0.05)
        return 200, completion("[[C]]")

    with OpenAIServer(slow) as server:
        conn.send(server.base_url)
        conn.recv()  # serve until told to stop


def _served(base_url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(base_url.rsplit("/v1", 1)[0] + "/count") as reply:
        return json.loads(reply.read())["requests"]


def bench_judge(n: int) -> bool:
    import multiprocessing as mp

    import openai  # noqa: F401  (import cost is not part of the measurement)

    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=_serve_slow_judge, args=(child,), daemon=True)
    proc.start()
    base_url = parent.recv()
    items = [(f"question {i}", f"answer {i}", "reference") for i in range(n)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            def timed(concurrency: int, cache: str) -> float:
                judge = LLMJudge(JudgeParams(backend="llm", base_url=base_url, concurrency=concurrency,
                                             cache_dir=f"{tmp}/{cache}"))
                # Steady state, as in training (one judge serves every step): clients and connections
                # are set up by a first, untimed batch.
                judge.judge_many([(f"warm-up {i}", "answer", "reference") for i in range(concurrency)])
                t0 = time.perf_counter()
                judge.judge_many(items)
                seconds = time.perf_counter() - t0
                judge.close()
                return seconds

            sequential = timed(1, "a")
            concurrent = timed(CONCURRENCY, "b")
            before = _served(base_url)
            timed(CONCURRENCY, "b")
            repeat_calls = _served(base_url) - before
    finally:
        parent.send("stop")
        proc.join(timeout=5)
    speedup = sequential / concurrent
    ok = speedup >= 10 and repeat_calls == 0
    print(f"judge: {2 * n} calls sequential {sequential:.2f} s, concurrent({CONCURRENCY}) {concurrent:.2f} s, speed-up "
          f"{speedup:.1f}x; repeated run made {repeat_calls} calls  target >= 10x and 0: {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="sandboxed programs")
    parser.add_argument("--judge-n", type=int, default=200,
                        help="judge items (two calls each; a GRPO batch of 8x8 writing samples makes 128 calls)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=["sandbox", "math", "judge"], help="run one of the three")
    args = parser.parse_args()
    parts = {"sandbox": lambda: bench_sandbox(args.n, args.workers), "math": lambda: bench_math(args.workers),
             "judge": lambda: bench_judge(args.judge_n)}
    ok = all([run() for name, run in parts.items() if args.only in (None, name)])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
