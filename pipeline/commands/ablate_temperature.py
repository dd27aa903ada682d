"""``ablate-temperature``: Table 2 (Section 5.3), single-task GRPO at another rollout temperature.

For each ``task: T`` of ``ablations.temperature.runs``, a single-task run from θ0 exactly as ``train_single``'s
(the task's ``train.overrides``, the same prompts and seed) but with rollout temperature T, then every task's test
split evaluated on it (greedy and sampled accuracy, Eq. 11 entropy, per prompt). The temperature-1.0 models are
``train_single``'s, already evaluated by ``evaluate_transfer``; the report puts both in Table 2.

Writes ``--out``: ``runs/<task>@<T>/`` (the runs), ``accuracies.csv``, ``entropies.csv`` and ``units.jsonl``
(``evaluate``'s columns, the model named ``<task>@<T>``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli import command
from .args import add_params_argument, add_seed_argument, load_stage_params

COLUMNS = ["trained_on", "temperature", "evaluated_on", "split", "accuracy", "accuracy_se", "accuracy_sampled",
           "accuracy_greedy", "entropy", "n", "undefined"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default="data/models/base", help="θ0 folder (HF format)")
    parser.add_argument("--curated", default="data/curated", help="folder of curate outputs")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="runs/<task>@<T>/, accuracies.csv, entropies.csv, units.jsonl")
    add_params_argument(parser)
    add_seed_argument(parser)


def run_name(task: str, temperature: float) -> str:
    return f"{task}@{temperature:g}"


def with_temperature(params, task: str, temperature: float):
    """``params`` with ``train.overrides.<task>.temperature`` set: the task's single-task run at ``temperature``."""
    overrides = {t: dict(o) for t, o in params.train.overrides.items()}
    overrides[task] = {**overrides.get(task, {}), "temperature": temperature}
    return params.model_copy(update={"train": params.train.model_copy(update={"overrides": overrides})})


@command("ablate-temperature", help="Table 2: single-task GRPO at other rollout temperatures "
                                    "(ablations.temperature.runs), evaluated on every task's test split.")
def run(args: argparse.Namespace) -> int:
    from ..eval.parallel import Unit, evaluate_units
    from ..eval.reuse import RESULTS, encode_result
    from ..io import csv_text, write_text_atomic
    from ..rl.run import train_run

    params = load_stage_params(args)
    runs = params.ablations.temperature.runs
    out = Path(args.out)
    models = {}
    for task, temperature in runs.items():
        name = run_name(task, temperature)
        print(f"ablation {name}: single-task GRPO on {task} at rollout temperature {temperature:g}", flush=True)
        train_run(with_temperature(params, task, temperature), "single", Path(args.base), Path(args.curated),
                  out / "runs" / name, task=task)
        models[name] = (out / "runs" / name / "model", temperature)
    units = [Unit(name, str(path), t, "test") for name, (path, _) in models.items() for t in params.tasks]
    rows, stored = [], []
    for unit, result in evaluate_units(units, params, Path(args.curated), desc="evaluate ablation"):
        stored.append(encode_result(result["key"], unit.name, unit.task, unit.split,
                                    {k: v for k, v in result.items() if k not in ("key", "reused")}))
        rows.append({"trained_on": unit.name, "temperature": models[unit.name][1], "evaluated_on": unit.task,
                     "split": unit.split, **{k: v for k, v in result.items() if not k.startswith("per_prompt")}})
        print(f"{unit.name:>14} on {unit.task:<8} greedy {result['accuracy_greedy']:.3f} "
              f"entropy {result['entropy']:.3f}", flush=True)

    write_text_atomic(out / "accuracies.csv", csv_text(rows, COLUMNS))
    write_text_atomic(out / "entropies.csv",
                      csv_text(rows, ["trained_on", "temperature", "evaluated_on", "split", "entropy"]))
    write_text_atomic(out / RESULTS, "".join(stored))
    if not runs:
        print("no temperature ablation (ablations.temperature.runs is empty): wrote empty tables")
    return 0
