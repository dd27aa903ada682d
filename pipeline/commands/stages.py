"""``stages``: the stage table, and the workflow files generated from it (dvc.yaml, workflow_rules/stages.smk)."""

from __future__ import annotations

import argparse

from ..cli import command
from ..config import load_params
from ..errors import UserError
from .args import add_params_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--write", action="store_true",
                      help="regenerate dvc.yaml, workflow_rules/stages.smk and the README's stage table")
    what.add_argument("--check", action="store_true", help="exit 1 when a generated file is stale")
    add_params_argument(parser)


@command("stages", help="List the stages of the DAG, or regenerate / check dvc.yaml and the Snakemake rules.")
def run(args: argparse.Namespace) -> int:
    from ..io import write_text_atomic
    from ..workflow.deps import ROOT
    from ..workflow.render import GENERATED, render, stage_code, stale
    from ..workflow.stages import STAGES

    tasks = list(load_params(args.params).tasks)
    if args.check:
        old = stale(tasks)
        if old:
            raise UserError(f"stale: {', '.join(old)} (regenerate with `python -m pipeline stages --write`)")
        print("dvc.yaml, workflow_rules/stages.smk and the README's stage table match the stage table")
        return 0
    if args.write:
        for name in GENERATED:
            write_text_atomic(ROOT / name, render(name, tasks))
            print(f"wrote {name}")
        return 0
    for s in STAGES:
        print(f"{s.name + ('@{task}' if s.per_task else ''):<26} {s.resources:<10} "
              f"{len(stage_code(s)):>3} code files  {s.doc}")
    return 0
