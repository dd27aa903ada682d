"""``benchmark``: models on Table 1's benchmarks, per benchmark and per category."""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

from ..cli import command
from ..config import load_params
from ..errors import UserError
from .args import add_params_argument, params_label, parse_models

COLUMNS = ["model", "benchmark", "domain", "category", "metric", "score", "score_se", "n"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", default=[], metavar="NAME=DIR",
                        help="a model evaluated on every selected benchmark; repeat")
    parser.add_argument("--singles", metavar="DIR", help="single-task runs: DIR/<domain>/model is evaluated on its "
                        "domain's benchmarks (Table 1's ST×K column), named after the domain")
    parser.add_argument("--out", required=True, metavar="DIR", help="writes results.csv")
    add_params_argument(parser)


@command("benchmark", help="Evaluate models on the benchmarks of benchmarks.names (Table 1), per category.")
def run(args: argparse.Namespace) -> int:
    from ..eval.benchmarks import BENCHMARKS, all_benchmarks, load_benchmark
    from ..io import staged_outputs

    params = load_params(args.params)
    p = params.benchmarks
    known = all_benchmarks()
    unknown = [n for n in [*p.names, *p.sources] if n not in known]
    if unknown:
        raise UserError(f"{params_label(args.params)}: benchmarks: unknown benchmark(s) {unknown} "
                        f"(known: {', '.join(known)})")
    models = parse_models(args.model)
    plan: dict[str, list[str]] = {}  # model path → benchmarks
    names: dict[str, str] = {}
    for bench in p.names:
        for name, path in models.items():
            plan.setdefault(path, []).append(bench)
            names[path] = name
        if args.singles:
            domain = BENCHMARKS[bench].domain
            path = str(Path(args.singles) / domain / "model")
            if not Path(path).is_dir():
                raise UserError(f"--singles: {path} is not a folder (no single-task model for domain '{domain}')")
            plan.setdefault(path, []).append(bench)
            names[path] = domain
    records = {b: load_benchmark(b, p.sources.get(b, p.data_dir), p.max_items, p.download_dir) for b in p.names}
    if p.check_libraries and plan:
        check_benchmark_libraries(params, records)
    rows = evaluate_benchmarks(params, plan, names, records) if plan else []
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with staged_outputs(args.out) as stage:
        (stage / "results.csv").write_text(buf.getvalue())
    if not p.names:
        print("no benchmark selected (benchmarks.names is empty): wrote an empty results.csv")
    return 0


def check_benchmark_libraries(params, records: dict[str, list[dict]]) -> None:
    """Stop before any model loads when the sandbox cannot import a library the tasks list (libraries.py)."""
    from ..eval.benchmarks.libraries import check_libraries, required_modules
    from ..rewards.total import RewardModel

    needed = {b: mods for b, recs in records.items() if (mods := required_modules(recs))}
    if not needed:
        return
    rewards = RewardModel(params.rewards)
    try:
        print(f"checking that the sandbox imports the {sum(map(len, needed.values()))} libraries of "
              f"{', '.join(needed)} ({rewards.code.sandbox.interpreter.path})")
        check_libraries(rewards.code, needed)
    finally:
        rewards.close()


def evaluate_benchmarks(params, plan: dict[str, list[str]], names: dict[str, str],
                        records: dict[str, list[dict]]) -> list[dict]:
    """One row per (model, benchmark, category) and one per (model, benchmark) with category ``all``."""
    import numpy as np
    import torch

    from ..eval.benchmarks import BENCHMARKS
    from ..eval.evaluate import evaluate_records, standard_error
    from ..eval.generators import open_generator
    from ..rewards.total import RewardModel

    rows = []
    rewards = RewardModel(params.rewards)
    eval_params = params.eval.model_copy(update={"max_items": None})
    try:
        for path, benches in plan.items():
            generator = open_generator(path, params.eval, params.seed)
            try:
                for bench in benches:
                    torch.manual_seed(params.seed)
                    recs = records[bench]
                    per_prompt = evaluate_records(generator, recs, eval_params, rewards, params.seed)["per_prompt"]
                    b = BENCHMARKS[bench]
                    categories = [r["meta"]["category"] for r in recs]
                    for category in ["all", *sorted(set(categories))]:
                        scores = per_prompt if category == "all" else \
                            np.array([s for s, c in zip(per_prompt, categories) if c == category])
                        rows.append({"model": names[path], "benchmark": bench, "domain": b.domain,
                                     "category": category, "metric": b.metric, "score": float(scores.mean()),
                                     "score_se": standard_error(scores), "n": len(scores)})
                    print(f"{names[path]:>10} on {bench:<14} {b.metric}={per_prompt.mean():.3f} n={len(recs)}")
            finally:
                generator.close()
    finally:
        rewards.close()
    return rows
