"""``validate-predictions``: train extra curricula and compare Algorithm 1's predictions with them (Table 3).

The orders come from ``validate.orders``: ``worst`` (the lowest predicted S in ``curricula.csv``),
``best`` (the recommended order, whose model is ``train_curriculum``'s: reused, not retrained) or
explicit orders. The recommended order is always reported. As in the paper's Table 3, both sides
use one split (``validate.split``, default test): Algorithm 1 runs on that split's BWT and θ0
accuracies (from ``evaluate_transfer``), and each model is evaluated on it with the ``eval`` settings.
Writes ``--out``: ``predictions.csv`` (one row per order and task: predicted and actual accuracy),
``validation.json`` (per order: predicted and actual Δrel (Eq. 14) and S (Eq. 10)),
and ``models/<order>/`` for the curricula trained here.
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
    parser.add_argument("--curated", default="data/curated", help="folder of curate outputs")
    parser.add_argument("--out", required=True, metavar="DIR", help="writes predictions.csv, validation.json, models/")
    add_params_argument(parser)
    add_seed_argument(parser)


def resolve_orders(specs: list[str], best: list[str], curricula_csv: Path, tasks: list[str]) -> dict[str, list[str]]:
    """``{label: order}``: the recommended order first (label ``best``), then each listed one, once each."""
    import pandas as pd

    from ..analysis.tables import ORDER_SEPARATOR

    orders = {"best": best}
    for spec in specs:
        if spec == "best":
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
    return orders


@command("validate-predictions", help="Train the curricula of validate.orders and compare Algorithm 1's predicted "
                                      "accuracies with the measured ones (Table 3).")
def run(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from ..analysis.prediction import algorithm1_terminal_accuracies
    from ..analysis.scores import delta_rel, score_s
    from ..analysis.tables import ORDER_SEPARATOR, floored_transfer, read_transfer_table
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
    split = params.validate_.split
    table = read_transfer_table(args.accuracies, "accuracy", split=split)
    floor = params.order.floor
    floored = floored_transfer(table, floor, str(args.accuracies), tasks)
    base, bwt = floored.base, floored.bwt
    alpha = np.array([report["weights"][t] for t in tasks])
    orders = resolve_orders(list(params.validate_.orders), list(report["order"]), order_dir / "curricula.csv", tasks)

    rows, summary = [], {}
    with staged_outputs(out) as stage:
        model_dirs = {}
        for label, order in orders.items():
            if label == "best":
                model_dirs[label] = Path(args.curriculum) / "model"
            else:
                run_dir = out / "models" / "-".join(order)
                train_run(params, "curriculum", Path(args.base), Path(args.curated), run_dir, order=order,
                          singles=Path(args.singles) if args.singles else None)
                model_dirs[label] = run_dir / "model"
        units = [Unit(label, str(model_dirs[label]), task, split) for label in orders for task in tasks]
        results = {(u.name, u.task): r for u, r in evaluate_units(units, params, Path(args.curated))}
        for label, order in orders.items():
            name = ORDER_SEPARATOR.join(order)
            predicted = algorithm1_terminal_accuracies(bwt, base, [tasks.index(t) for t in order])
            actual = [results[label, task]["accuracy"] for task in tasks]
            actual_se = [results[label, task]["accuracy_se"] for task in tasks]
            if floor is None and min(actual) <= 0.0:
                raise UserError(f"curriculum {name}: a measured accuracy of 0 makes log-accuracy undefined; "
                                "set order.floor")
            actual_floored = np.maximum(np.array(actual), floor or 0.0)
            for i, task in enumerate(tasks):
                rows.append({"label": label, "order": name, "task": task, "split": split,
                             "predicted": predicted[i], "actual": actual[i], "actual_se": actual_se[i],
                             "base": base[i]})
            summary[label] = {
                "order": order, "model": str(model_dirs[label]), "split": split,
                "predicted": {"delta_rel": delta_rel(predicted, base), "score": score_s(np.log(predicted), alpha)},
                "actual": {"delta_rel": delta_rel(actual_floored, base),
                           "score": score_s(np.log(actual_floored), alpha)},
            }
            print(f"{label:>6} {name}: predicted Δrel={summary[label]['predicted']['delta_rel']:+.4f}  "
                  f"actual Δrel={summary[label]['actual']['delta_rel']:+.4f} ({split})")
        pd.DataFrame(rows).to_csv(stage / "predictions.csv", index=False, float_format="%.6g")
        labels = list(summary)
        agree = None
        if len(labels) > 1:  # does the measured ranking of the orders follow the predicted one?
            pred = [summary[k]["predicted"]["score"] for k in labels]
            act = [summary[k]["actual"]["score"] for k in labels]
            agree = bool(np.argmax(pred) == np.argmax(act))
        write_json_atomic(stage / "validation.json", {"split": split, "orders": summary,
                                                      "best_predicted_is_best_actual": agree})
        if (out / "models").is_dir():  # the trained orders (kept in place while running, to resume) move in too
            shutil.move(out / "models", stage / "models")
    return 0
