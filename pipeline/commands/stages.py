"""``stages``: the stage table, and the workflow files generated from it (dvc.yaml, workflow_rules/stages.smk)."""

from __future__ import annotations

import argparse

from ..catalog import load_checked_params
from ..cli import command
from ..errors import UserError
from .args import add_params_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--write", action="store_true",
                      help="regenerate dvc.yaml, workflow_rules/stages.smk and the README's stage table")
    what.add_argument("--check", action="store_true", help="exit 1 when a generated file is stale")
    what.add_argument("--resources", action="store_true",
                      help="each stage's Slurm request under the params (nodes, GPUs, CPUs, memory, time): what "
                           "`snakemake --profile slurm` submits; OMNI_SLURM_GPU_MODEL names the GPU type")
    add_params_argument(parser)


@command("stages", help="List the stages of the DAG, or regenerate / check dvc.yaml and the Snakemake rules.")
def run(args: argparse.Namespace) -> int:
    from ..io import write_text_atomic
    from ..workflow.deps import ROOT
    from ..workflow.render import GENERATED, render, stage_code, stale
    from ..workflow.stages import STAGES

    params = load_checked_params(args.params)
    if args.resources:
        import os

        from ..workflow.resources import all_stage_resources

        print(f"{'stage':<22} {'nodes':>5} {'GPUs/node':<14} {'CPUs/node':>9} {'mem/node':>9} {'time':>7}")
        for name, r in all_stage_resources(params, os.environ.get("OMNI_SLURM_GPU_MODEL") or None).items():
            gpus = r.get("gres", "-").removeprefix("gpu:")
            print(f"{name:<22} {r['nodes']:>5} {gpus:<14} {r['cpus_per_task']:>9} {r['mem_mb'] // 1024:>6} GB "
                  f"{r['runtime'] / 60:>5.1f} h")
        from pathlib import Path

        from ..workflow.cost import cost_table, stage_costs

        print()
        print(cost_table(stage_costs(params, Path("data/curated"), os.environ.get("OMNI_SLURM_GPU_MODEL") or None),
                         params.rewards.judge.price_per_mtok))
        return 0
    if args.check:
        old = stale()
        if old:
            raise UserError(f"stale: {', '.join(old)} (regenerate with `python -m pipeline stages --write`)")
        print("dvc.yaml, workflow_rules/stages.smk and the README's stage table match the stage table")
        return 0
    if args.write:
        for name in GENERATED:
            write_text_atomic(ROOT / name, render(name))
            print(f"wrote {name}")
        return 0
    for s in STAGES:
        print(f"{s.name + ('@{task}' if s.per_task else ''):<26} {s.resources:<10} "
              f"{len(stage_code(s)):>3} code files  {s.doc}")
    return 0
