"""``evaluate``: accuracy and entropy of models on every task's splits (the BWT / entropy tables)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..cli import command
from ..errors import UserError
from .args import add_params_argument, add_seed_argument, load_stage_params, parse_models

if TYPE_CHECKING:
    from ..config import Params
    from ..eval.parallel import Unit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", default=[], metavar="NAME=DIR",
                        help="a model to evaluate, named as in the accuracy table (`base` for θ0, a task name for "
                             "its single-task model); repeat")
    parser.add_argument("--transfer", nargs=2, metavar=("BASE_DIR", "SINGLES_DIR"),
                        help="evaluate θ0 (BASE_DIR) and every task's single-task model (SINGLES_DIR/<task>/model): "
                             "the BWT table")
    parser.add_argument("--split", action="append", default=None, choices=["val", "test"], help="splits (default both)")
    parser.add_argument("--curated", default="data/curated", help="folder of curate outputs")
    parser.add_argument("--reuse", action="append", default=[], metavar="DIR",
                        help="an earlier `evaluate` output folder: units evaluated there (same model files, data, "
                             "eval settings, rewards and seed) are taken from its units.jsonl; repeat")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="writes accuracies.csv, entropies.csv and units.jsonl (every result, per prompt)")
    add_params_argument(parser)
    add_seed_argument(parser)


@command("evaluate", help="Per-task accuracy (mean@k and greedy) and token entropy (Eq. 11) of models on val/test.")
def run(args: argparse.Namespace) -> int:
    from ..eval.parallel import Unit
    from ..io import staged_outputs

    params = load_stage_params(args)
    models = {}
    if args.transfer:
        base, singles = args.transfer
        args.model = [f"base={base}", *(f"{t}={Path(singles) / t / 'model'}" for t in params.tasks), *args.model]
    if not args.model:
        raise UserError("give --model NAME=DIR (repeatable) or --transfer BASE_DIR SINGLES_DIR")
    models.update(parse_models(args.model))
    splits = args.split or ["val", "test"]
    for task in params.tasks:
        for split in splits:
            if not (Path(args.curated) / task / f"{split}.parquet").exists():
                raise UserError(f"{Path(args.curated) / task / f'{split}.parquet'}: file not found")
    units = [Unit(name, str(path), task, split) for name, path in models.items() for task in params.tasks
             for split in splits]
    rows, stored = evaluate_to_tables(units, params, Path(args.curated), reuse=[Path(d) for d in args.reuse])
    with staged_outputs(args.out) as stage:
        write_tables(stage, rows, stored)
    return 0


ACCURACY_COLUMNS = ["trained_on", "evaluated_on", "split", "accuracy", "accuracy_se", "accuracy_sampled",
                    "accuracy_greedy", "gain", "gain_se", "n", "undefined"]
ENTROPY_COLUMNS = ["trained_on", "evaluated_on", "split", "entropy"]


def evaluate_to_tables(units: list[Unit], params: Params, curated: Path, desc: str = "evaluate",
                       reuse: Sequence[Path] = ()) -> tuple[list[dict], list[str]]:
    """Evaluate ``units`` (in parallel, taking stored results from ``reuse``): their table rows (:func:`table_row`,
    each model's paired gain over θ0 when θ0, named ``base``, came first) and their encoded results for
    ``units.jsonl``, in the order of ``units``."""
    from ..eval.parallel import evaluate_units
    from ..eval.reuse import encode_result

    rows, stored = [], []
    base_per_prompt: dict = {}  # (task, split) → θ0's per-prompt accuracy
    for unit, result in evaluate_units(units, params, curated, desc=desc, reuse=reuse):
        stored.append(encode_result(result["key"], unit.name, unit.task, unit.split,
                                    {k: v for k, v in result.items() if k not in ("key", "reused")}))
        rows.append(table_row(unit.name, unit.task, unit.split, result, base_per_prompt))
    return rows, stored


def write_tables(stage: Path, rows: list[dict], stored: list[str]) -> None:
    """``accuracies.csv``, ``entropies.csv`` and ``units.jsonl`` (every result, per prompt) into ``stage``."""
    from ..eval.reuse import RESULTS
    from ..io import csv_text

    (stage / "accuracies.csv").write_text(csv_text(rows, ACCURACY_COLUMNS))
    (stage / "entropies.csv").write_text(csv_text(rows, ENTROPY_COLUMNS))
    (stage / RESULTS).write_text("".join(stored))


def table_row(name: str, task: str, split: str, result: dict, base_per_prompt: dict) -> dict:
    """One row of the tables: model ``name`` on ``task``'s ``split`` (with its paired gain over θ0 when θ0 came
    first)."""
    from ..eval.evaluate import paired_difference

    result = dict(result)
    per_prompt = result.pop("per_prompt")
    result.pop("per_prompt_greedy", None)
    reused = " (reused)" if result.pop("reused", False) else ""
    if name == "base":
        base_per_prompt[task, split] = per_prompt
    elif (task, split) in base_per_prompt:
        result["gain"], result["gain_se"] = paired_difference(per_prompt, base_per_prompt[task, split])
    print(f"{name:>10} on {task:<8} {split:<4} acc={result['accuracy']:.3f}±{result['accuracy_se']:.3f} "
          f"(sampled {result['accuracy_sampled']:.3f}, greedy {result['accuracy_greedy']:.3f}) "
          f"entropy={result['entropy']:.3f} n={result['n']}"
          + (f" gain={result['gain']:+.3f}±{result['gain_se']:.3f}" if "gain" in result else "")
          + (f" undefined={result['undefined']} (left out)" if result.get("undefined") else "") + reused, flush=True)
    return {"trained_on": name, "evaluated_on": task, "split": split, **result}
