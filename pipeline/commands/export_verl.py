"""``export-verl``: write a curated split as verl's RL parquet."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli import command
from ..errors import UserError
from .args import add_params_argument, load_stage_params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="SPLIT.parquet", help="curated split files (record schema)")
    parser.add_argument("--out", required=True, metavar="OUT.parquet", help="verl parquet to write")
    add_params_argument(parser)  # each task's reward kind: the rows' ability and reward_model.style


@command("export-verl", help="Convert curated split files to verl's parquet (data_source, prompt, ability, "
                             "reward_model, extra_info).")
def run(args: argparse.Namespace) -> int:
    from ..data.schema import read_split
    from ..data.verl_export import write_verl_parquet
    from ..rewards.total import verl_reward_fields

    params = load_stage_params(args)
    records = []
    for path in args.inputs:
        if not Path(path).is_file():
            raise UserError(f"{path}: file not found")
        records += read_split(path)
    if not records:
        raise UserError(f"{', '.join(args.inputs)}: no records to export")
    rewards = {task: verl_reward_fields(params.rewards, task) for task in {r["task"] for r in records}}
    n = write_verl_parquet(records, args.out, rewards)
    print(f"wrote {n} rows to {args.out}")
    return 0
