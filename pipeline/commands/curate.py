"""``curate``: one task's data, from its real source or the synthetic generator (stage ``curate@{task}``)."""

from __future__ import annotations

import argparse
import json

from ..cli import command
from ..config import load_params
from ..errors import UserError
from .args import add_params_argument, params_label


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, help="task name (a key of data.tasks in params)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (e.g. data/curated/math)")
    add_params_argument(parser)


@command("curate", help="Curate one task into train/val/test (and pretrain) parquet files with stats.json.")
def run(args: argparse.Namespace) -> int:
    from ..data.curate import curate_task, write_task

    params = load_params(args.params)
    if args.task not in params.data.tasks:
        raise UserError(f"{params_label(args.params)}: data.tasks has no entry for task '{args.task}' "
                        f"(have: {', '.join(params.data.tasks)})")
    splits, stats = curate_task(params, args.task)
    write_task(splits, stats, args.out)
    summary = stats.to_dict()
    print(f"{args.task}: kept {summary['kept']} of {summary['read']} read "
          f"({json.dumps(summary['kept_per_split'])}); dropped {summary['dropped']} "
          f"{json.dumps(summary['dropped_by_reason'])} -> {args.out}")
    return 0
