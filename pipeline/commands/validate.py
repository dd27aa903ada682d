"""``validate-predictions``: train extra curricula and compare the predictors with them (Table 3).

The orders come from ``validate.orders``: ``worst`` (the lowest predicted S in ``curricula.csv``),
``best`` (the recommended order, whose model is ``train_curriculum``'s: reused, not retrained), ``all``
(every order) or explicit orders, and ``validate.sample`` more drawn at random: the ground truth of
docs/curriculum.md. The recommended order is always reported. Every model is evaluated on val and test
with the ``eval`` settings, and on each split both predictors run on that split's tables (from
``evaluate_transfer`` and, when its runs exist, ``train-pairs``): Algorithm 1 and the pairwise predictor,
the latter with the scales of params and with scales fitted leave-one-order-out. As in the paper's
Table 3, ``validate.split`` (default test) is the split of the per-order summary.
Writes ``--out``: ``predictions.csv`` (one row per order, task and split: each predictor's and the
measured accuracy), ``validation.json`` (per order: predicted and actual Δrel (Eq. 14) and S (Eq. 10) on
``validate.split``, and under ``splits`` on each split; per split and predictor: the errors over the trained
orders) and ``models/<order>/`` for the curricula trained here (a curriculum starts from the pair run of its
first two tasks when one exists).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from ..cli import command
from ..errors import UserError
from .args import add_params_argument, add_seed_argument, load_stage_params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--order-dir", default="data/order", help="outputs of `order` (curriculum.json: the "
                                                                  "recommended order; curricula.csv: the ranking)")
    parser.add_argument("--accuracies", default="data/eval/transfer/seed0/accuracies.csv",
                        help="evaluate_transfer's accuracies (θ0 and single-task models, per split)")
    parser.add_argument("--curriculum", default="data/models/curriculum/seed0",
                        help="train_curriculum's run folder: the recommended order's model (reused)")
    parser.add_argument("--base", default="data/models/base", help="θ0 folder (HF format)")
    parser.add_argument("--singles", metavar="DIR", help="single-task runs a curriculum may start from (see "
                                                         "`train --singles`)")
    parser.add_argument("--pairs", metavar="DIR", help="train-pairs' folder (accuracies.csv, runs/): the pairwise "
                                                       "predictor's transfers and the runs a curriculum may start "
                                                       "from")
    parser.add_argument("--curated", default="data/curated", help="folder of curate outputs")
    parser.add_argument("--out", required=True, metavar="DIR", help="writes predictions.csv, validation.json, models/")
    add_params_argument(parser)
    add_seed_argument(parser)


def resolve_orders(specs: list[str], best: list[str], curricula_csv: Path, tasks: list[str], sample: int = 0,
                   seed: int = 0) -> dict[str, list[str]]:
    """``{label: order}``: the recommended order first (label ``best``), then each listed one, once each (``all``:
    every order, labelled by itself), then ``sample`` orders drawn at random (``seed``) from the rest."""
    import itertools

    import numpy as np
    import pandas as pd

    from ..analysis.curricula import ENUMERATE_MAX_K
    from ..analysis.tables import ORDER_SEPARATOR

    orders = {"best": best}
    if ("all" in specs or sample) and len(tasks) > ENUMERATE_MAX_K:
        raise UserError(f"validate.orders 'all' and validate.sample draw from every order: K ≤ {ENUMERATE_MAX_K} "
                        f"(K = {len(tasks)}); list explicit orders instead")
    every = [list(o) for o in itertools.permutations(tasks)] if len(tasks) <= ENUMERATE_MAX_K else []
    for spec in specs:
        if spec == "best":
            continue
        if spec == "all":
            orders |= {ORDER_SEPARATOR.join(o): o for o in every if o not in orders.values()}
            continue
        if spec == "worst":
            if not curricula_csv.exists():
                raise UserError(f"{curricula_csv}: file not found; 'worst' in validate.orders needs every order "
                                "ranked (K ≤ 8); list explicit orders instead")
            ranked = pd.read_csv(curricula_csv)
            order = ranked.sort_values("rank")["order"].iloc[-1].split(ORDER_SEPARATOR)
        else:
            order = [t.strip() for t in spec.split(ORDER_SEPARATOR)]
        if sorted(order) != sorted(tasks):
            raise UserError(f"validate.orders: {spec!r} does not list each of {tasks} once")
        if order not in orders.values():
            orders["worst" if spec == "worst" else ORDER_SEPARATOR.join(order)] = order
    rest = [o for o in every if o not in orders.values()]
    if sample > len(rest):
        raise UserError(f"validate.sample: {sample} more orders asked, {len(rest)} left of the {len(every)}")
    for index in sorted(np.random.default_rng(seed).choice(len(rest), size=sample, replace=False)):
        orders[ORDER_SEPARATOR.join(rest[index])] = rest[index]
    return orders


SPLITS = ("val", "test")


def _predictors(args: argparse.Namespace, params, tasks: list[str], split: str):
    """The predictors' inputs on ``split`` (:class:`~pipeline.analysis.validation.PredictorInputs`): θ0 and BWT
    from ``--accuracies``, the pairwise predictor from ``--pairs`` when its table holds runs."""
    import numpy as np

    from ..analysis.pairwise import PairwisePredictor
    from ..analysis.tables import floored_transfer, read_pair_table, read_transfer_table
    from ..analysis.validation import PredictorInputs

    floor = params.order.floor
    floored = floored_transfer(read_transfer_table(args.accuracies, "accuracy", split=split), floor,
                               str(args.accuracies), tasks)
    cube = read_pair_table(Path(args.pairs) / "accuracies.csv", tasks, split) if args.pairs else None
    if cube is None:
        return PredictorInputs(floored.base, floored.bwt)
    pairwise = PairwisePredictor.from_measured(np.diag(floored.single), cube, floor, params.order.pairwise_scales,
                                               str(Path(args.pairs) / "accuracies.csv"))
    return PredictorInputs(floored.base, floored.bwt, pairwise)


@command("validate-predictions", help="Train the curricula of validate.orders and compare the predicted accuracies "
                                      "(Algorithm 1, the pairwise predictor) with the measured ones (Table 3).")
def run(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from ..analysis.signal import best_agrees
    from ..analysis.tables import ORDER_SEPARATOR
    from ..analysis.validation import ALGORITHM1, compare_predictors
    from ..eval.parallel import Unit, evaluate_units
    from ..io import read_json, staged_outputs, write_json_atomic
    from ..rl.run import train_run

    params = load_stage_params(args)
    order_dir, out = Path(args.order_dir), Path(args.out)
    report_path = order_dir / "curriculum.json"
    for path in (report_path, Path(args.curriculum) / "model"):
        if not path.exists():
            raise UserError(f"{path}: not found (run `order` and `train_curriculum` first)")
    report = read_json(report_path, "curriculum.json of `order`")
    if not isinstance(report, dict) or not all(k in report for k in ("tasks", "order", "weights")):
        raise UserError(f"{report_path}: missing 'tasks', 'order' or 'weights' "
                        "(expected the curriculum.json of `order`)")
    tasks = list(report["tasks"])
    if sorted(tasks) != sorted(params.tasks):
        raise UserError(f"{report_path}: tasks {tasks} differ from params' {list(params.tasks)}")
    alpha = np.array([report["weights"][t] for t in tasks])
    inputs = {split: _predictors(args, params, tasks, split) for split in SPLITS}  # validated before training
    orders = resolve_orders(list(params.validate_.orders), list(report["order"]), order_dir / "curricula.csv", tasks,
                            params.validate_.sample, params.seeds[0])
    pairs = Path(args.pairs) if args.pairs and inputs["val"].pairwise is not None else None

    with staged_outputs(out) as stage:
        model_dirs = {}
        for number, (label, order) in enumerate(orders.items(), start=1):
            if label == "best":
                model_dirs[label] = Path(args.curriculum) / "model"
                continue
            print(f"curriculum {number}/{len(orders)}: {' → '.join(order)}", flush=True)
            run_dir = out / "models" / "-".join(order)
            train_run(params, "curriculum", Path(args.base), Path(args.curated), run_dir, order=order,
                      singles=Path(args.singles) if args.singles else None, pairs=pairs)
            model_dirs[label] = run_dir / "model"
        units = [Unit(label, str(model_dirs[label]), task, split) for label in orders for task in tasks
                 for split in SPLITS]
        results = {(u.name, u.task, u.split): r for u, r in evaluate_units(units, params, Path(args.curated),
                                                                          desc="evaluate curricula")}
        rows, errors, by_split = [], {}, {label: {} for label in orders}
        for split in SPLITS:
            measured = np.array([[results[label, t, split]["accuracy"] for t in tasks] for label in orders])
            se = np.array([[results[label, t, split]["accuracy_se"] for t in tasks] for label in orders])
            comparison = compare_predictors(inputs[split], [[tasks.index(t) for t in o] for o in orders.values()],
                                            measured, params.order.floor, alpha,
                                            f"{args.out}: the curricula's accuracies on {split}")
            errors[split] = comparison.errors
            for n, (label, order) in enumerate(orders.items()):
                for i, task in enumerate(tasks):
                    rows.append({"label": label, "order": ORDER_SEPARATOR.join(order), "task": task, "split": split,
                                 **{f"predicted_{name}" if name != ALGORITHM1 else "predicted": p[n, i]
                                    for name, p in comparison.predicted.items()},
                                 "actual": measured[n, i], "actual_se": se[n, i], "base": inputs[split].base[i]})
            for n, label in enumerate(orders):
                by_split[label][split] = comparison.summary(n)
        per_order = {label: {"order": order, "model": str(model_dirs[label]), "split": params.validate_.split,
                             **by_split[label][params.validate_.split], "splits": by_split[label]}
                     for label, order in orders.items()}
        for label, summary in per_order.items():
            others = "  ".join(f"{name} Δrel={p['delta_rel']:+.4f}" for name, p in summary["predictors"].items()
                               if name != ALGORITHM1)
            print(f"{label:>6} {ORDER_SEPARATOR.join(summary['order'])}: predicted Δrel="
                  f"{summary['predicted']['delta_rel']:+.4f}  actual Δrel={summary['actual']['delta_rel']:+.4f}"
                  f" ({params.validate_.split}){'  ' + others if others else ''}")
        for split in SPLITS:
            for name, e in errors[split].items():
                if name != "fitted_scales":
                    print(f"{split}: {name:<13} per-task MAE {e['task_mae']:.4f}  Δrel MAE {e['delta_rel_mae']:.4f}  "
                          f"Spearman {e['spearman']:+.3f}  ({len(orders)} orders)")
        pd.DataFrame(rows).to_csv(stage / "predictions.csv", index=False, float_format="%.6g")
        labels = list(per_order)
        # Does the measured best order follow the predicted one? Undetermined on ties (analysis.signal).
        agree = best_agrees([per_order[k]["predicted"]["score"] for k in labels],
                            [per_order[k]["actual"]["score"] for k in labels])
        write_json_atomic(stage / "validation.json", {"split": params.validate_.split, "orders": per_order,
                                                      "best_predicted_is_best_actual": agree.value,
                                                      **({"best_undetermined": agree.reason}
                                                         if agree.value is None else {}),
                                                      "errors": errors})
        if (out / "models").is_dir():  # the trained orders (kept in place while running, to resume) move in too
            shutil.move(out / "models", stage / "models")
    return 0
