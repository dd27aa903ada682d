"""``merge-ties``: pick each single-task run's best checkpoint on validation, then TIES-merge them into θ0."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..cli import command
from ..errors import UserError
from .args import add_params_argument, add_seed_argument, load_stage_params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default="data/models/base", help="θ0 folder (HF format)")
    parser.add_argument("--singles", default="data/models/single/seed0",
                        help="folder of the single-task runs (<task>/)")
    parser.add_argument("--curated", default="data/curated", help="folder of curate outputs")
    parser.add_argument("--reuse", action="append", default=[], metavar="DIR",
                        help="an `evaluate` output folder whose evaluations of the same models are taken instead of "
                             "recomputed (see pipeline/eval/reuse.py); repeat")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="writes model/ (HF, with mergekit.yaml) and selection.json")
    add_params_argument(parser)
    add_seed_argument(parser)


@command("merge-ties", help="Model-merging baseline: best single-task checkpoints on val, TIES-merged (mergekit).")
def run(args: argparse.Namespace) -> int:
    import torch

    from ..baselines.select import best_checkpoint, candidates
    from ..baselines.ties import run_ties_merge, ties_config
    from ..eval.parallel import Unit, evaluate_units
    from ..io import staged_outputs, write_json_atomic

    params = load_stage_params(args)
    m = params.baselines.merge
    runs = {task: candidates(Path(args.singles) / task) for task in params.tasks}
    for task in params.tasks:
        file = Path(args.curated) / task / f"{m.select_split}.parquet"
        if not file.exists():
            raise UserError(f"{file}: file not found")
    step_of = {Unit(f"{task}@{step}", str(path), task, m.select_split): step for task, cands in runs.items()
               for step, path in cands}
    scores: dict[str, list[dict]] = {task: [] for task in params.tasks}
    for unit, result in evaluate_units(list(step_of), params, Path(args.curated), desc="checkpoint selection",
                                         reuse=[Path(d) for d in args.reuse]):
        task, step = unit.task, step_of[unit]
        scores[task].append({"step": step, "path": unit.path, "accuracy": result["accuracy"],
                             "accuracy_se": result["accuracy_se"]})
        print(f"select {task:<8} step {step:>5}: {m.select_split} acc={result['accuracy']:.3f}"
              f"±{result['accuracy_se']:.3f}", flush=True)
    selection = {}
    for task in params.tasks:
        best = best_checkpoint([(s["step"], s["accuracy"]) for s in scores[task]])
        chosen = next(s for s in scores[task] if s["step"] == best)
        selection[task] = {"selected_step": best, "path": chosen["path"], "accuracy": chosen["accuracy"],
                           "split": m.select_split, "candidates": scores[task]}
    config = ties_config(args.base, {t: s["path"] for t, s in selection.items()}, m.density, m.lam)
    t0 = time.perf_counter()
    with staged_outputs(args.out) as stage:
        run_ties_merge(config, stage / "model", threads=torch.get_num_threads())
        write_json_atomic(stage / "selection.json", {"merge": {"method": "ties", "lambda": m.lam, "density": m.density},
                                                     "tasks": selection})
    print(f"TIES merge of {len(selection)} models (λ={m.lam}, density={m.density}) in "
          f"{time.perf_counter() - t0:.1f} s -> {Path(args.out) / 'model'}")
    return 0
