"""``benchmark``: models on Table 1's benchmarks, per benchmark and per category.

With ``--transfer BASE SINGLES`` it is the benchmark twin of ``evaluate --transfer``: θ0 and every task's single-task
model on every selected benchmark, plus the domain averages as ``order``'s accuracy and entropy tables
(``accuracies.csv``, ``entropies.csv``, split ``benchmarks``; :mod:`pipeline.analysis.benchmark_transfer`).
``--reuse`` copies the rows of models it does not evaluate from another ``results.csv`` (Table 1's Base and ST×K
columns, from the transfer run)."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from ..cli import command
from ..errors import UserError
from .args import add_params_argument, add_seed_argument, load_stage_params, params_label, parse_models

COLUMNS = ["model", "benchmark", "domain", "category", "metric", "score", "score_se", "n", "entropy"]
TRANSFER_TABLES = {"accuracies.csv": ("accuracy", "score"), "entropies.csv": ("entropy", "entropy")}
"""--transfer's tables for ``order``: file → (its value column, the results.csv column averaged)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", default=[], metavar="NAME=DIR",
                        help="a model evaluated on every selected benchmark; repeat")
    parser.add_argument("--singles", metavar="DIR", help="single-task runs: DIR/<domain>/model is evaluated on its "
                        "domain's benchmarks (Table 1's ST×K column), named after the domain")
    parser.add_argument("--transfer", nargs=2, metavar=("BASE_DIR", "SINGLES_DIR"),
                        help="θ0 (named base) and every task's SINGLES_DIR/<task>/model (named after the task) on "
                             "every benchmark; also writes the domain averages as accuracies.csv and entropies.csv")
    parser.add_argument("--reuse", metavar="RESULTS.csv",
                        help="rows of another results.csv copied into this one (models not evaluated here)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="writes results.csv (and, with --transfer, accuracies.csv and entropies.csv)")
    add_params_argument(parser)
    add_seed_argument(parser)


@command("benchmark", help="Evaluate models on the benchmarks of benchmarks.names (Table 1), per category.")
def run(args: argparse.Namespace) -> int:
    from ..eval.benchmarks import BENCHMARKS, all_benchmarks, load_benchmark
    from ..io import csv_text, staged_outputs

    params = load_stage_params(args)
    p = params.benchmarks
    known = all_benchmarks()
    unknown = [n for n in [*p.names, *p.sources] if n not in known]
    if unknown:
        raise UserError(f"{params_label(args.params)}: benchmarks: unknown benchmark(s) {unknown} "
                        f"(known: {', '.join(known)})")
    models = parse_models(args.model)
    if args.transfer:
        base, singles = args.transfer
        models = {"base": base, **{t: str(Path(singles) / t / "model") for t in params.tasks}, **models}
        for name, path in models.items():
            if not Path(path).is_dir():
                raise UserError(f"--transfer: {path} is not a folder (no model for '{name}')")
        uncovered = [t for t in params.tasks if not any(BENCHMARKS[b].domain == t for b in p.names)]
        if params.order.split == "benchmarks" and uncovered:
            raise UserError(f"{params_label(args.params)}: order.split is benchmarks but no benchmark of "
                            f"benchmarks.names scores task(s) {uncovered} (a benchmark scores its domain's task)")
    reused = _reused_rows(args.reuse, set(models)) if args.reuse else []
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
    records = {b: load_benchmark(b, p.source(b), p.max_items, p.download_dir) for b in p.names}
    if p.check_libraries and plan:
        check_benchmark_libraries(params, records)
    rows = reused + (evaluate_benchmarks(params, plan, names, records) if plan else [])
    with staged_outputs(args.out) as stage:
        (stage / "results.csv").write_text(csv_text(rows, COLUMNS))
        if args.transfer:
            for file, (value, column) in TRANSFER_TABLES.items():
                table = transfer_table(rows, ["base", *params.tasks], params.tasks, value, column)
                (stage / file).write_text(csv_text(table, ["trained_on", "evaluated_on", "split", value]))
    if not p.names:
        print("no benchmark selected (benchmarks.names is empty): wrote an empty results.csv")
    return 0


def transfer_table(rows: list[dict], models: list[str], tasks: list[str], value: str, column: str) -> list[dict]:
    """``order``'s table (split ``benchmarks``) of ``value``: each task's benchmarks averaged (category ``all``)."""
    from ..analysis.benchmark_transfer import domain_averages
    from ..eval.benchmarks import BENCHMARKS

    overall = [r for r in rows if r["category"] == "all"]
    scores = {(r["model"], r["benchmark"]): float(r[column]) for r in overall}
    return domain_averages(scores, {r["benchmark"]: BENCHMARKS[r["benchmark"]].domain for r in overall},
                           models, tasks, value)


def _reused_rows(path: str, evaluated: set[str]) -> list[dict]:
    """The rows of ``path`` (a results.csv) for models not evaluated here."""
    if not Path(path).exists():
        raise UserError(f"--reuse: {path}: file not found (run the stage that writes it first)")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f"--reuse: {path}: missing column(s) {', '.join(missing)} (not a benchmark results.csv)")
        return [row for row in reader if row["model"] not in evaluated]


def check_benchmark_libraries(params, records: dict[str, list[dict]]) -> None:
    """Stop before any model loads when the sandbox cannot import a library the tasks list (libraries.py)."""
    from ..eval.benchmarks import benchmark_rewards
    from ..eval.benchmarks.libraries import check_libraries, required_modules
    from ..rewards.total import RewardModel

    needed = {b: mods for b, recs in records.items() if (mods := required_modules(recs))}
    if not needed:
        return
    rewards = RewardModel(benchmark_rewards(params.rewards, records))
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

    from ..eval.benchmarks import BENCHMARKS, benchmark_rewards
    from ..eval.evaluate import evaluate_records, standard_error
    from ..eval.generators import open_generator
    from ..rewards.total import RewardModel

    rows = []
    rewards = RewardModel(benchmark_rewards(params.rewards, records))
    eval_params = params.eval.model_copy(update={"max_items": None})
    try:
        for path, benches in plan.items():
            generator = open_generator(path, params.eval, params.seed)
            try:
                for bench in benches:
                    torch.manual_seed(params.seed)
                    recs = records[bench]
                    result = evaluate_records(generator, recs, eval_params, rewards, params.seed)
                    per_prompt = result["per_prompt"]
                    b = BENCHMARKS[bench]
                    categories = [r["meta"]["category"] for r in recs]
                    for category in ["all", *sorted(set(categories))]:
                        scores = per_prompt if category == "all" else \
                            np.array([s for s, c in zip(per_prompt, categories) if c == category])
                        rows.append({"model": names[path], "benchmark": bench, "domain": b.domain,
                                     "category": category, "metric": b.metric, "score": float(scores.mean()),
                                     "score_se": standard_error(scores), "n": len(scores),
                                     "entropy": result["entropy"] if category == "all" else None})
                    print(f"{names[path]:>10} on {bench:<14} {b.metric}={per_prompt.mean():.3f} n={len(recs)}")
            finally:
                generator.close()
    finally:
        rewards.close()
    return rows
