"""Gold checks of every benchmark adapter on the real files (../shared/data by default).

Each benchmark's own reference, written as a response, goes through its scorer (see
pipeline/eval/benchmarks/gold.py). Prints, per benchmark, the pass rate and the failures; for
BigCodeBench each failure is classified by whether a library the task lists is missing here.

    python benchmarks/gold_checks.py [--data ../shared/data] [--only bigcodebench] [--max-items N]
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import time
from pathlib import Path

from pipeline.config import RewardParams
from pipeline.eval.benchmarks import all_benchmarks, load_benchmark
from pipeline.eval.benchmarks.gold import gold_check
from pipeline.rewards.total import RewardModel


def missing_libraries(record: dict) -> list[str]:
    libs = ast.literal_eval(record["meta"].get("libs") or "[]")
    return sorted({lib.split(".")[0] for lib in libs if importlib.util.find_spec(lib.split(".")[0]) is None})


def wrong_option(record: dict) -> str:
    options = record["meta"]["options"]
    wrong = next(o for i, o in enumerate(options) if i != record["meta"]["answer_index"])
    return f"<think>Guess.</think><answer>{wrong}</answer>"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--only", action="append")
    parser.add_argument("--max-items", type=int)
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    rewards = RewardModel(RewardParams(code={"timeout_s": 60, "cpu_s": 60, "memory_mb": 4096, "workers": 2}))
    results = {}
    try:
        for name in args.only or [b for b in all_benchmarks() if b != "mt_bench"]:
            t0 = time.perf_counter()
            records = load_benchmark(name, args.data, max_items=args.max_items)
            result = gold_check(name, records, rewards)
            result["seconds"] = round(time.perf_counter() - t0, 1)
            if name == "mmlu_pro":
                wrong = gold_check(name, records, rewards, respond=wrong_option)
                result["wrong_option_rate"] = wrong["rate"]
            if name == "bigcodebench":
                by_id = {r["id"]: r for r in records}
                causes = {i: missing_libraries(by_id[i]) for i in result["failed"]}
                result["failed_missing_library"] = {i: libs for i, libs in causes.items() if libs}
                result["failed_other"] = [i for i, libs in causes.items() if not libs]
                runnable = result["n"] - len(result["failed_missing_library"])
                result["rate_with_libraries"] = result["passed"] / runnable if runnable else float("nan")
            results[name] = result
            extra = {k: v for k, v in result.items() if k in ("wrong_option_rate", "rate_with_libraries")}
            print(f"{name:<14} {result['passed']:>4}/{result['n']:<4} = {result['rate']:.3f}  "
                  f"{result['seconds']:>6.1f} s  {extra or ''}", flush=True)
            if name == "bigcodebench":
                print(f"  failures with a missing library: {len(result['failed_missing_library'])}; "
                      f"others: {result['failed_other']}")
            elif result["failed"]:
                print(f"  failed: {result['failed']}")
    finally:
        rewards.close()
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
