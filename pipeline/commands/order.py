"""``order``: BWT matrix (Eq. 6), Algorithm 1 predictions and the curriculum choice (Section 3).

Reads an accuracy table (``trained_on,evaluated_on,accuracy``) and writes to ``--out``:
``bwt.csv``, ``curriculum.json``, ``bwt.png``, ``curricula.csv`` (every order, when
K ≤ 8) and, with ``--entropies``, ``entropy_change.csv`` / ``.png`` (Eq. 12). With ``--pairs``
(the tables of ``train-pairs``, when they hold runs) the pairwise predictor (docs/curriculum.md)
ranks the orders too, and ``order.method: pairwise`` recommends its LOP optimum.
All inputs are validated before anything is written; outputs appear atomically.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..analysis.curricula import ENUMERATE_MAX_K, all_curricula
from ..analysis.entropy import entropy_change_matrix
from ..analysis.ordering import EXACT_MAX_K, SOLVERS, OrderResult, forgettability_scores
from ..analysis.pairwise import PAIRWISE, PairwisePredictor
from ..analysis.prediction import algorithm1_terminal_accuracies
from ..analysis.scores import delta_rel, lop_constant, lop_matrix, score_s
from ..analysis.tables import (
    ORDER_SEPARATOR,
    FlooredTransfer,
    floored_transfer,
    mean_pair_tables,
    mean_transfer,
    read_transfer_table,
    read_weights,
)
from ..cli import command
from ..config import load_params
from ..errors import UserError
from ..io import staged_outputs, write_json_atomic
from ..report.heatmap import save_heatmap
from .args import expand_seeds

REPORTED = ("exact", "greedy", "forgettability")
"""``--method`` of the pairwise predictor's LOP (:mod:`pipeline.analysis.pairwise`)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accuracies", required=True, nargs="+", metavar="ACC.csv",
                        help="table with columns trained_on,evaluated_on,accuracy (accuracy in [0, 1]; "
                             "trained_on is 'base' for θ0); an optional split column is filtered by --split; "
                             "with several tables, the one holding that split's rows is read")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--weights", metavar="W.json", help="task weights α of Eq. 10 as {task: weight} (default 1)")
    parser.add_argument("--floor", type=float, metavar="F",
                        help="raise accuracies below F to F before taking logs, with a warning "
                             "(without it a zero accuracy is an error)")
    parser.add_argument("--method", choices=sorted([*SOLVERS, PAIRWISE]),
                        help="whose order curriculum.json recommends: a solver of Algorithm 1's LOP, or pairwise "
                             "(needs --pairs) (default: exact)")
    parser.add_argument("--split", help="keep only rows of this split when ACC.csv has a split column "
                                         "(default: order.split of --params)")
    parser.add_argument("--entropies", nargs="+", metavar="ENT.csv",
                        help="optional trained_on,evaluated_on,entropy table(s), chosen like --accuracies: writes the "
                             "entropy change matrix (Eq. 12)")
    parser.add_argument("--pairs", nargs="+", metavar="PAIRS.csv",
                        help="optional accuracies.csv of `train-pairs` (one per seed, `{seeds}` allowed): the "
                             "pairwise predictor's forward and backward transfers; a table without rows (pairs off) "
                             "leaves Algorithm 1 alone")
    parser.add_argument("--params", nargs="+", metavar="FILE",
                        help="take defaults for floor, method, weights, exact_max_k and restarts from the order "
                             "section of params.yaml and the overlays after it")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the large-K heuristic (default: params seed or 0)")
    parser.epilog = ("A `{seeds}` in a table's path stands for every seed of params `seeds` (one table per training "
                     "replica, e.g. data/eval/transfer/seed{seeds}/accuracies.csv): the replicas are averaged cell by "
                     "cell before the BWT is taken (docs/seeds.md).")


@dataclass(frozen=True)
class Settings:
    floor: float | None
    method: str
    weights: dict[str, float]
    exact_max_k: int
    restarts: int
    seed: int
    split: str | None
    seeds: list[int]
    pairwise_scales: tuple[float, float] = (1.0, 1.0)


def _settings(args: argparse.Namespace) -> Settings:
    if args.params:
        p = load_params(args.params)
        base = Settings(p.order.floor, p.order.method, dict(p.order.weights), p.order.exact_max_k,
                        p.order.restarts, p.seed, p.order.split, list(p.seeds), p.order.pairwise_scales)
    else:
        base = Settings(None, "exact", {}, EXACT_MAX_K, 20, 0, None, [0])
    floor = base.floor if args.floor is None else args.floor
    if floor is not None and not (0.0 < floor <= 1.0):
        raise UserError(f"--floor must be in (0, 1], got {floor}")
    return Settings(floor=floor, method=args.method or base.method, weights=base.weights,
                    exact_max_k=base.exact_max_k, restarts=base.restarts,
                    seed=base.seed if args.seed is None else args.seed, split=args.split or base.split,
                    seeds=base.seeds, pairwise_scales=base.pairwise_scales)


def tables_of_split(paths: list[str], split: str | None, replicas: int = 1) -> list[str]:
    """The tables of ``paths`` that hold rows of ``split``: one per replica (``replicas``: how many training seeds
    the paths came from; one table per replica is taken as it is: its reader checks its splits)."""
    if len(paths) == replicas:
        return paths
    if split is None:
        raise UserError(f"{', '.join(paths)}: several tables; choose a split with --split")
    holding = [p for p in paths if split in splits_in(p)]
    if len(holding) != replicas:
        found = "; ".join(f"{p}: {', '.join(sorted(splits_in(p))) or 'no rows'}" for p in paths)
        count = "no table holds" if not holding else f"{len(holding)} tables hold"
        raise UserError(f"{count} rows of split '{split}', expected {replicas} (one per seed) ({found})")
    return holding


def _tables(paths: list[str], args: argparse.Namespace, s: Settings) -> list[str]:
    """The tables of ``s.split`` among ``paths``, a ``{seeds}`` in them expanded over params ``seeds``."""
    if not any("{seeds}" in p for p in paths):
        return tables_of_split(paths, s.split)
    if not args.params:
        pattern = next(p for p in paths if "{seeds}" in p)
        raise UserError(f"{pattern}: {{seeds}} stands for params `seeds`: give --params")
    return tables_of_split(expand_seeds(paths, s.seeds), s.split, len(s.seeds))


def read_mean_table(paths: list[str], value_column: str, split: str | None,
                    bounds: tuple[float, float] | None = (0.0, 1.0)):
    """Each replica's table of ``split`` read and validated, then averaged (:func:`mean_transfer`); the source
    named in messages: the one file, or the files joined by `` + ``."""
    tables = [read_transfer_table(p, value_column, split=split, bounds=bounds) for p in paths]
    return mean_transfer(tables, paths), " + ".join(paths)


def splits_in(path: str) -> set[str]:
    """The values of ``path``'s split column (empty without one, or for a missing or unreadable file)."""
    try:
        frame = pd.read_csv(path, dtype=str)
    except (OSError, ValueError):
        return set()
    return set(frame["split"].dropna().str.strip()) if "split" in frame.columns else set()


def _prediction(tasks: tuple[str, ...], accuracies: Callable[[Sequence[int]], np.ndarray], base: np.ndarray,
                alpha: np.ndarray, result: OrderResult) -> dict[str, object]:
    """The order ``result`` found, with the terminal accuracies ``accuracies`` predicts for it, S and Δrel."""
    acc = accuracies(result.order)
    log_acc = np.log(acc)
    return {
        "order": [tasks[k] for k in result.order],
        "predicted_accuracy": {t: float(acc[i]) for i, t in enumerate(tasks)},
        "score": score_s(log_acc, alpha),
        "delta_rel": delta_rel(acc, base),
        "above_one": [t for i, t in enumerate(tasks) if acc[i] > 1.0],
        "predictor": "pairwise" if result.solver.startswith(PAIRWISE) else "algorithm1",
        "solver": {"name": result.solver, "exact": result.exact, "lop_value": result.value,
                   "upper_bound": result.upper_bound, "gap": result.gap, **result.info},
    }


@command("order", help="BWT matrix, Algorithm-1 predictions and the curriculum order (exact LOP, greedy, "
                       "forgettability).")
def run(args: argparse.Namespace) -> int:
    s = _settings(args)
    # 1. Read and validate everything before writing anything.
    table, source = read_mean_table(_tables(args.accuracies, args, s), "accuracy", s.split)
    tasks, k = table.tasks, len(table.tasks)
    alpha = read_weights(args.weights, tasks, given=s.weights)
    entropy, entropies = read_mean_table(_tables(args.entropies, args, s), "entropy", s.split,
                                         bounds=(0.0, np.inf)) if args.entropies else (None, None)
    if entropy is not None and set(entropy.tasks) != set(tasks):
        raise UserError(f"{entropies}: tasks {list(entropy.tasks)} differ from {source}'s {list(tasks)}")
    floored = floored_transfer(table, s.floor, source)
    for warning in floored.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    base, bwt = floored.base, floored.bwt
    if s.method != PAIRWISE:
        SOLVERS.get_or_fail(s.method, "order.method (or pairwise)")
    pairwise = _pairwise(args, s, tasks, floored)
    if s.method == PAIRWISE and pairwise is None:
        raise UserError(f"order.method pairwise needs the pair runs: give --pairs with the tables of `train-pairs` "
                        f"(pairs.enabled: true){'; ' + ', '.join(args.pairs) + ' hold no runs' if args.pairs else ''}")

    # 2. BWT (Eq. 6) and the LOP over S (Eq. 10).
    w = lop_matrix(bwt, alpha)
    results: dict[str, OrderResult] = {}
    for name in REPORTED:
        if name == "exact" and k > s.exact_max_k:
            continue
        results[name] = SOLVERS[name](w, max_k=s.exact_max_k)
    if k > s.exact_max_k or s.method == "heuristic":
        results["heuristic"] = SOLVERS["heuristic"](w, restarts=s.restarts, seed=s.seed)
    if pairwise is not None:  # the same LOP machinery over the pairwise predictor's matrix
        solver = "exact" if k <= s.exact_max_k else "heuristic"
        found = SOLVERS[solver](pairwise.lop(alpha), max_k=s.exact_max_k, restarts=s.restarts, seed=s.seed)
        results[PAIRWISE] = dataclasses.replace(found, solver=f"{PAIRWISE}-{found.solver}")
    method = "heuristic" if s.method == "exact" and k > s.exact_max_k else s.method
    if method == "exact" and "exact" not in results:
        method = "heuristic"

    def algorithm1(order: Sequence[int]) -> np.ndarray:
        return algorithm1_terminal_accuracies(bwt, base, order)

    predictions = {name: _prediction(tasks, pairwise.accuracies if name == PAIRWISE and pairwise else algorithm1,
                                     base, alpha, r) for name, r in results.items()}
    report = {
        "tasks": list(tasks),
        "weights": {t: float(a) for t, a in zip(tasks, alpha)},
        "floor": s.floor,
        "split": s.split,
        "method": method,
        "order": predictions[method]["order"],
        **{name: (predictions[name]["order"] if name in predictions else None) for name in REPORTED},
        "predictions": predictions,
        "base_accuracy": {t: float(base[i]) for i, t in enumerate(tasks)},
        "forgettability_scores": {t: float(f) for t, f in zip(tasks, forgettability_scores(w))},
        "score_constant": lop_constant(bwt, base, alpha),
        "pairwise": None if pairwise is None else {
            "scales": list(pairwise.scales),
            "forward_transfer": _matrix_dict(tasks, pairwise.forward),
            "backward_transfer": _matrix_dict(tasks, pairwise.backward)},
    }
    curricula = all_curricula(tasks, bwt, base, alpha, pairwise) if k <= ENUMERATE_MAX_K else None

    # 3. Write all outputs atomically.
    bwt_frame = pd.DataFrame(bwt, index=pd.Index(tasks, name="evaluated_on"), columns=list(tasks))
    with staged_outputs(args.out) as stage:
        bwt_frame.to_csv(stage / "bwt.csv", float_format="%.10g")
        write_json_atomic(stage / "curriculum.json", report)
        save_heatmap(bwt, tasks, tasks, stage / "bwt.png", title="Backward transfer BWT_ij (Eq. 6)",
                     row_label="evaluated on (i)", col_label="trained on (j)")
        if curricula is not None:
            curricula.to_csv(stage / "curricula.csv", index=False, float_format="%.10g")
        if entropy is not None:
            perm = [entropy.tasks.index(t) for t in tasks]
            h = entropy_change_matrix(entropy.base[perm], entropy.single[np.ix_(perm, perm)].T)
            pd.DataFrame(h, index=pd.Index(tasks, name="trained_on"), columns=list(tasks)).to_csv(
                stage / "entropy_change.csv", float_format="%.10g")
            save_heatmap(h, tasks, tasks, stage / "entropy_change.png", title="Entropy change H_ij (Eq. 12)",
                         row_label="trained on (i)", col_label="evaluated on (j)", fmt="{:+.1%}")

    _print_summary(report, bwt_frame, Path(args.out), curricula is not None)
    return 0


def _pairwise(args: argparse.Namespace, s: Settings, tasks: tuple[str, ...],
              floored: FlooredTransfer) -> PairwisePredictor | None:
    """The pairwise predictor from the pair tables of ``--pairs`` on ``s.split`` (None without them, or when they
    hold no runs), the pair accuracies floored like the transfer table's; ``a_k`` from the transfer table."""
    if not args.pairs:
        return None
    if s.split not in ("val", "test"):
        print(f"warning: --pairs: the pair runs are evaluated on val and test: no pairwise predictor on split "
              f"'{s.split}'", file=sys.stderr)
        return None
    patterns = [p for p in args.pairs if "{seeds}" in p]
    if patterns and not args.params:
        raise UserError(f"{patterns[0]}: {{seeds}} stands for params `seeds`: give --params")
    paths = expand_seeds(args.pairs, s.seeds) if patterns else list(args.pairs)
    cube = mean_pair_tables(paths, tasks, s.split)
    if cube is None:
        return None
    return PairwisePredictor.from_measured(np.diag(floored.single), cube, s.floor, s.pairwise_scales, ", ".join(paths))


def _matrix_dict(tasks: tuple[str, ...], matrix: np.ndarray) -> dict[str, dict[str, float]]:
    """``{row task: {column task: value}}`` of a K × K matrix."""
    return {a: {b: float(matrix[i, j]) for j, b in enumerate(tasks)} for i, a in enumerate(tasks)}


def _print_summary(report: dict, bwt_frame: pd.DataFrame, out: Path, wrote_curricula: bool) -> None:
    k = len(report["tasks"])
    if k <= 12:
        print("BWT (rows: evaluated on, columns: trained on)")
        print(bwt_frame.round(4).to_string())
    for name, pred in report["predictions"].items():
        solver = pred["solver"]
        gap = "" if solver["exact"] or solver["gap"] is None else f"  (gap to upper bound {solver['gap']:.4g})"
        print(f"{name:>15}: {ORDER_SEPARATOR.join(pred['order'])}  S={pred['score']:.4f}  "
              f"Δrel={pred['delta_rel']:+.4f}{gap}")
        if pred["above_one"]:
            print(f"warning: {name} order predicts accuracy above 1 for {', '.join(pred['above_one'])} "
                  "(constant-BWT assumption over-extrapolates)", file=sys.stderr)
    print(f"recommended ({report['method']}): {ORDER_SEPARATOR.join(report['order'])}")
    files = ["bwt.csv", "curriculum.json", "bwt.png"] + (["curricula.csv"] if wrote_curricula else [])
    print(f"wrote {', '.join(str(out / f) for f in files)}")
