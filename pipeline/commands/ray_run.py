"""``ray-run``: run a command against a Ray cluster spanning the current Slurm job's nodes.

    python -m pipeline ray-run --nodes 4 --gpus-per-node 8 -- python -m verl.trainer.main_ppo ...

Inside a Slurm job it starts Ray on every node of the allocation (:mod:`pipeline.scale.ray_slurm`), waits for
them, runs the command with ``RAY_ADDRESS`` set, and stops Ray however the command ends. Outside Slurm (one
node) it runs the command as it is. The verl backend does the same around each verl run.
"""

from __future__ import annotations

import argparse
import os
import subprocess

from ..cli import command
from ..errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nodes", type=int, required=True, help="nodes the Slurm job must have (train.verl.nnodes)")
    parser.add_argument("--gpus-per-node", type=int, required=True,
                        help="GPUs Ray must report on every node before the command starts (0: a CPU cluster)")
    parser.add_argument("--timeout-s", type=float, default=300.0,
                        help="how long to wait for every node to join (default 300)")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND ...", help="the command to run")


@command("ray-run", help="Run a command on a Ray cluster over the current Slurm job's nodes.")
def run(args: argparse.Namespace) -> int:
    from ..scale.ray_slurm import ray_cluster_for_job

    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise UserError("ray-run: no command given (put it after --)")
    with ray_cluster_for_job(args.nodes, args.gpus_per_node, args.timeout_s) as env:
        return subprocess.run(cmd, env={**os.environ, **env}).returncode
