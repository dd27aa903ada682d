"""``train-pairs``: every ordered pair of tasks ``i → j`` as a two-segment curriculum, evaluated on every task.

The measurements of the pairwise predictor (:mod:`pipeline.analysis.pairwise`, docs/curriculum.md): how well
``j`` learns from the model trained on ``i`` (forward transfer, P1) and how ``j`` moves ``i`` right after it
(backward transfer, P2). K(K−1) runs; each starts from ``i``'s single-task run (``--singles``), so it trains one
segment. With ``pairs.enabled: false`` nothing is trained and the tables hold no rows.

Writes ``--out``: ``accuracies.csv`` and ``entropies.csv`` (``evaluate``'s tables, ``trained_on`` the pair
``i>j``), ``units.jsonl`` (every result, per prompt) and ``runs/<i>-<j>/`` with ``runs/index.json``.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
from pathlib import Path

from ..cli import command
from .args import add_params_argument, add_seed_argument, load_stage_params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default="data/models/base", help="θ0 folder (HF format)")
    parser.add_argument("--singles", metavar="DIR", help="single-task runs (<task>/): each pair starts from its "
                                                         "first task's (see `train --singles`)")
    parser.add_argument("--curated", default="data/curated", help="folder of curate outputs")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="writes accuracies.csv, entropies.csv, units.jsonl and runs/<i>-<j>/")
    add_params_argument(parser)
    add_seed_argument(parser)


def ordered_pairs(tasks: list[str]) -> list[tuple[str, str]]:
    """The K(K−1) ordered pairs ``(i, j)``, ``i ≠ j``, in task order."""
    return list(itertools.permutations(tasks, 2))


@command("train-pairs", help="Train every ordered pair of tasks as a two-segment curriculum and evaluate each on "
                             "every task (the pairwise predictor's transfers; pairs.enabled).")
def run(args: argparse.Namespace) -> int:
    from ..analysis.tables import ORDER_SEPARATOR
    from ..eval.parallel import Unit
    from ..io import staged_outputs, write_json_atomic
    from ..rl.run import train_run
    from .evaluate import evaluate_to_tables, write_tables

    params = load_stage_params(args)
    out, tasks = Path(args.out), list(params.tasks)
    pairs = ordered_pairs(tasks) if params.pairs.enabled else []
    if not pairs:
        print("pairs.enabled is false: no pair runs (the pairwise predictor is off)")
    runs = {ORDER_SEPARATOR.join(pair): out / "runs" / "-".join(pair) for pair in pairs}
    for number, (name, run_dir) in enumerate(runs.items(), start=1):
        print(f"pair {number}/{len(runs)}: {name}", flush=True)
        train_run(params, "curriculum", Path(args.base), Path(args.curated), run_dir, order=name.split(ORDER_SEPARATOR),
                  singles=Path(args.singles) if args.singles else None)
    units = [Unit(name, str(run_dir / "model"), task, split) for name, run_dir in runs.items() for task in tasks
             for split in ("val", "test")]
    rows, stored = evaluate_to_tables(units, params, Path(args.curated), desc="evaluate pairs")
    with staged_outputs(out) as stage:
        write_tables(stage, rows, stored)
        if (out / "runs").is_dir():  # trained in place (to resume), moved in with the tables
            shutil.move(out / "runs", stage / "runs")
        write_json_atomic(stage / "runs" / "index.json", {"pairs": list(runs)})
    return 0
