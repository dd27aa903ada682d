"""Gold checks of every benchmark adapter on the real files (../shared/data by default).

Each benchmark's own reference, written as a response, goes through its scorer (see
pipeline/eval/benchmarks/gold.py). Prints, per benchmark, the pass rate and the failures; for
BigCodeBench each failure is classified by whether a library the task lists is missing in the sandbox
(imported there, on the interpreter that runs the programs: ``--python``, as rewards.code.python).

    python benchmarks/gold_checks.py [--data ../shared/data] [--only bigcodebench] [--max-items N]
        [--python .venv-bigcodebench/bin/python] [--memory-mb 4096] [--timeout-s 60]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pipeline.config import RewardParams
from pipeline.eval.benchmarks import all_benchmarks, load_benchmark
from pipeline.eval.benchmarks.gold import gold_check
from pipeline.eval.benchmarks.libraries import missing_modules, required_modules
from pipeline.rewards.total import RewardModel


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
    parser.add_argument("--python", help="the sandbox's interpreter (rewards.code.python; default this one)")
    parser.add_argument("--memory-mb", type=int, default=4096, help="rewards.code.memory_mb")
    parser.add_argument("--timeout-s", type=int, default=60, help="rewards.code.timeout_s and cpu_s")
    args = parser.parse_args()
    rewards = RewardModel(RewardParams(code={"timeout_s": args.timeout_s, "cpu_s": args.timeout_s,
                                             "memory_mb": args.memory_mb, "workers": 2, "python": args.python}))
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
                missing = set(missing_modules(rewards.code, required_modules(records)))
                result["missing_libraries"] = sorted(missing)
                causes = {i: sorted(set(required_modules([by_id[i]])) & missing) for i in result["failed"]}
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
