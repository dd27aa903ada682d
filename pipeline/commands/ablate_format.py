"""``ablate-format``: Figure 3 (Appendix A.2.1), full-text answers versus letter choices.

Two single-task policies of ``ablations.answer_format.task`` from θ0 on the same prompts: the full-text one is
``train_single``'s (the curated format), the letter one is trained here on the same records asked as lettered
multiple choice (:mod:`pipeline.data.answer_formats`; task ``<task>_letter``, reward ``mcq``, the task's
``train.overrides``). Each is evaluated in both formats on the task's test split and, with
``ablations.answer_format.benchmark`` (paper: ``mmlu_pro``), on that benchmark and its ``_letter`` twin.

Writes ``--out``: ``curated/<task>_letter/`` (the letter-format splits), ``runs/<task>_letter/`` (the run),
``accuracies.csv`` (one row per trained format × evaluated format × data) and ``units.jsonl``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli import command
from ..config import Params
from .args import add_params_argument, add_seed_argument, load_stage_params

COLUMNS = ["trained_format", "evaluated_format", "data", "accuracy", "accuracy_se", "accuracy_greedy", "n"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default="data/models/base", help="θ0 folder (HF format)")
    parser.add_argument("--singles", default="data/models/single/seed0",
                        help="single-task runs: <singles>/<task>/model is the full-text policy")
    parser.add_argument("--curated", default="data/curated", help="folder of curate outputs")
    parser.add_argument("--reuse", default=[], action="append", metavar="DIR",
                        help="evaluate_transfer's outputs: the full-text policy on the full-text test split is "
                             "taken from its units.jsonl when it matches")
    parser.add_argument("--out", required=True, metavar="DIR", help="curated/, runs/, accuracies.csv, units.jsonl")
    add_params_argument(parser)
    add_seed_argument(parser)


def letter_params(params: Params, task: str) -> Params:
    """The parameters of the letter-format experiment: a one-task run of ``<task>_letter`` with ``task``'s data,
    training settings (``train.overrides``) and reward weights, scored by the ``mcq`` reward. Validated like any
    parameters, so verl's reward workers, which reload them from a file, read the same."""
    from ..data.answer_formats import REWARD_KIND, format_task

    letter = format_task(task, "letter")
    raw = params.model_dump(mode="json", by_alias=True)
    raw["tasks"] = [letter]
    raw["data"]["tasks"] = {letter: raw["data"]["tasks"][task]}
    raw["rewards"]["tasks"] = {letter: {**params.rewards.for_task(task).model_dump(mode="json"),
                                        "kind": REWARD_KIND["letter"]}}
    raw["train"]["overrides"] = {letter: raw["train"]["overrides"].get(task, {})}
    raw["order"]["weights"] = {}
    raw["validate"]["orders"] = ["worst"]
    raw["ablations"] = {}
    return Params.model_validate(raw)


def _write_letter_splits(curated: Path, task: str, out: Path) -> None:
    from ..data.answer_formats import format_task, in_format
    from ..data.schema import SPLITS, read_split, write_split
    from ..errors import UserError

    for split in SPLITS:
        source = curated / task / f"{split}.parquet"
        if not source.exists():
            raise UserError(f"{source}: file not found (run curate for task '{task}' first)")
        try:
            records = in_format(read_split(source, task=task), task, "letter")
        except ValueError as exc:
            raise UserError(f"{source}: {exc} (ablations.answer_format.task must be a multiple-choice task)") \
                from None
        write_split(records, out / format_task(task, "letter") / f"{split}.parquet")


@command("ablate-format", help="Figure 3: a single-task policy trained on letter choices beside the full-text one, "
                               "each evaluated in both answer formats (ablations.answer_format).")
def run(args: argparse.Namespace) -> int:
    from ..data.answer_formats import format_task
    from ..errors import UserError
    from ..eval.parallel import Unit, evaluate_units
    from ..eval.reuse import RESULTS, encode_result
    from ..io import csv_text, write_text_atomic
    from ..rl.run import train_run

    params = load_stage_params(args)
    cfg = params.ablations.answer_format
    out = Path(args.out)
    if cfg.task is None:
        for folder in ("curated", "runs"):
            (out / folder).mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "accuracies.csv", csv_text([], COLUMNS))
        write_text_atomic(out / RESULTS, "")
        print("no answer-format ablation (ablations.answer_format.task is null): wrote empty tables")
        return 0
    task, curated = cfg.task, Path(args.curated)
    letter = format_task(task, "letter")
    lparams = letter_params(params, task)
    models = {"full_text": Path(args.singles) / task / "model", "letter": out / "runs" / letter / "model"}
    if not models["full_text"].is_dir():
        raise UserError(f"{models['full_text']}: not a folder (train_single for task '{task}' first)")
    benches = _benchmark_records(params, cfg.benchmark) if cfg.benchmark else {}

    _write_letter_splits(curated, task, out / "curated")
    print(f"answer-format ablation: single-task GRPO on {letter} (letter choices) from θ0", flush=True)
    train_run(lparams, "single", Path(args.base), out / "curated", out / "runs" / letter, task=letter)

    rows, stored = [], []
    for fmt, fmt_params, fmt_curated, fmt_task, reuse in (
            ("full_text", params, curated, task, [Path(p) for p in args.reuse]),
            ("letter", lparams, out / "curated", letter, [])):
        units = [Unit(trained, str(path), fmt_task, "test") for trained, path in models.items()]
        for unit, result in evaluate_units(units, fmt_params, fmt_curated, desc=f"evaluate in {fmt} format",
                                           reuse=reuse):
            stored.append(encode_result(result["key"], unit.name, unit.task, unit.split,
                                        {k: v for k, v in result.items() if k not in ("key", "reused")}))
            rows.append({"trained_format": unit.name, "evaluated_format": fmt, "data": f"{task} test",
                         **{c: result[c] for c in ("accuracy", "accuracy_se", "accuracy_greedy", "n")}})
    if benches:
        from .benchmark import evaluate_benchmarks

        plan = {str(path): list(benches) for path in models.values()}
        names = {str(path): trained for trained, path in models.items()}
        for row in evaluate_benchmarks(lparams, plan, names, benches):
            if row["category"] == "all":
                rows.append({"trained_format": row["model"], "evaluated_format":
                             "letter" if row["benchmark"].endswith("_letter") else "full_text",
                             "data": cfg.benchmark, "accuracy": row["score"], "accuracy_se": row["score_se"],
                             "accuracy_greedy": None, "n": row["n"]})
    for row in rows:
        print(f"trained {row['trained_format']:>9}, evaluated {row['evaluated_format']:>9} on {row['data']}: "
              f"{row['accuracy']:.3f} ± {row['accuracy_se']:.3f}", flush=True)
    write_text_atomic(out / "accuracies.csv", csv_text(rows, COLUMNS))
    write_text_atomic(out / RESULTS, "".join(stored))
    return 0


def _benchmark_records(params: Params, benchmark: str) -> dict[str, list[dict]]:
    """``benchmark`` and its letter twin, loaded as ``evaluate_benchmarks`` loads them."""
    from ..errors import UserError
    from ..eval.benchmarks import all_benchmarks, load_benchmark

    names = [benchmark, f"{benchmark}_letter"]
    missing = [n for n in names if n not in all_benchmarks()]
    if missing:
        raise UserError(f"ablations.answer_format.benchmark: {benchmark!r} has no letter-format twin "
                        f"({', '.join(missing)} is not a benchmark)")
    p = params.benchmarks
    return {n: load_benchmark(n, p.sources.get(n, p.source(benchmark)), p.max_items, p.download_dir) for n in names}
