"""``preflight``: the checks of :mod:`pipeline.workflow.preflight` on these params, before any job runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..catalog import load_checked_params
from ..cli import command
from .args import add_params_argument, params_label


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--curated", default="data/curated", metavar="DIR",
                        help="curate's outputs: run lengths are exact when they exist (default: data/curated)")
    parser.add_argument("--no-data", action="store_true",
                        help="do not load benchmark records (their libraries are then not checked)")
    add_params_argument(parser)


@command("preflight", help="Check what would stop a stage of these params (benchmark sources and libraries, "
                           "checkpoint snapshots) before submitting anything, and print what the run will cost "
                           "(GPU-hours, judge calls, tokens, dollars); exit 1 on a problem.")
def run(args: argparse.Namespace) -> int:
    from ..workflow.preflight import Context, preflight

    params = load_checked_params(args.params)
    findings = preflight(params, Context(Path(args.curated), load_data=not args.no_data))
    for f in findings:
        print(f"{'ok     ' if f.ok else 'PROBLEM'} {f.stage:<20} {f.check:<20} {f.message}")
    import os

    from ..workflow.cost import cost_table, stage_costs

    print("\nCost (requested GPU-hours; judge calls and tokens, an upper bound on prompt tokens: docs/cost.md)")
    print(cost_table(stage_costs(params, Path(args.curated), os.environ.get("OMNI_SLURM_GPU_MODEL") or None),
                     params.rewards.judge.price_per_mtok))
    problems = [f for f in findings if not f.ok]
    print(f"{params_label(args.params)}: {len(findings)} checks, "
          + (f"{len(problems)} problem(s)" if problems else "no problem"))
    return 1 if problems else 0
