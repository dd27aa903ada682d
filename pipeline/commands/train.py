"""``train``: MT-GRPO on one task (single), all tasks mixed (joint) or task by task (curriculum)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli import command
from ..errors import UserError
from ..io import read_json
from .args import add_params_argument, add_seed_argument, load_stage_params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", required=True, choices=["single", "joint", "curriculum"],
                        help="schedule (Section 2.3)")
    parser.add_argument("--task", help="the task of a single-task run")
    parser.add_argument("--order", help="curriculum: curriculum.json from `order` (its recommended order) or a "
                                        "comma-separated task list")
    parser.add_argument("--base", default="data/models/base", help="θ0 folder (HF format)")
    parser.add_argument("--curated", default="data/curated", help="folder of curate outputs")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="run folder: model/, log.jsonl, metrics.json, checkpoints/step-<n>/ "
                             "(train.grpo.keep_every) "
                             "and, for a curriculum, segments/<i>-<task>/; "
                             "work/ holds the resumable checkpoint while the run is in progress")
    parser.add_argument("--singles", metavar="DIR",
                        help="curriculum: folder of the single-task runs (<task>/); when the run of the first task "
                             "is exactly the curriculum's first segment (same θ0, batches, settings, seed, rewards), "
                             "the curriculum starts from its final state instead of training that segment again")
    add_params_argument(parser)
    add_seed_argument(parser)
    parser.add_argument("--dry-run", action="store_true",
                        help="print the plan (local) or the exact verl commands and rendered Hydra configs (verl), "
                             "and write nothing")


def _order(spec: str, tasks: list[str]) -> list[str]:
    """A curriculum order from curriculum.json (its recommended ``order``) or a comma-separated list."""
    path = Path(spec)
    if path.suffix == ".json":
        report = read_json(path, "curriculum.json of `order`")
        if not isinstance(report, dict) or not isinstance(report.get("order"), list):
            raise UserError(f"{path}: no 'order' list (expected the curriculum.json that `order` writes)")
        order = report["order"]
    else:
        order = [t.strip() for t in spec.split(",") if t.strip()]
    if sorted(order) != sorted(tasks):
        raise UserError(f"curriculum order {order} must list each task of params exactly once ({tasks})")
    return order


@command("train", help="MT-GRPO training (train.backend: local or verl) with a single-task, joint or curriculum "
                        "schedule.")
def run(args: argparse.Namespace) -> int:
    from ..rl.run import train_run

    params = load_stage_params(args)
    if args.mode == "single" and args.task not in params.tasks:
        raise UserError(f"--task must be one of {params.tasks} for --mode single")
    if args.mode == "curriculum" and not args.order:
        raise UserError("--mode curriculum needs --order (curriculum.json or a comma-separated list)")
    order = _order(args.order, list(params.tasks)) if args.mode == "curriculum" else None
    summary = train_run(params, args.mode, Path(args.base), Path(args.curated), Path(args.out),
                        task=args.task, order=order, dry_run=args.dry_run,
                        singles=Path(args.singles) if args.singles else None)
    if args.dry_run:
        return 0
    print(f"trained ({args.mode}) {summary['steps']} steps in {summary['seconds']:.0f} s -> {Path(args.out) / 'model'}")
    return 0
