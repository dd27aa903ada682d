"""What verl's start-up does on a Ray cluster, without a GPU: join the cluster the way ``run_ppo`` does
(``ray.init`` with verl's runtime env and ``ray_kwargs.ray_init`` from the composed ``ppo_trainer`` config),
reserve one placement group per node through verl's own :class:`RayResourcePool` (``STRICT_PACK``, as its
worker groups do), and run one task in each. Writes which Slurm node each group landed on.

    python -m pipeline.scale.ray_probe --nodes 2 --gpus-per-node 0 --out probe.json

Run inside ``python -m pipeline ray-run`` (which sets ``RAY_ADDRESS``): the Slurm test of the multi-node path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def probe(nodes: int, gpus_per_node: int) -> dict:
    import ray
    from omegaconf import OmegaConf
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy
    from verl.single_controller.ray.base import RayResourcePool
    from verl.trainer.constants_ppo import get_ppo_ray_runtime_env

    from .ray_slurm import NODE_RESOURCE
    from .verl_run import compose_config

    config = compose_config([f"trainer.nnodes={nodes}", f"trainer.n_gpus_per_node={max(gpus_per_node, 1)}"])
    runtime_env = OmegaConf.merge(get_ppo_ray_runtime_env(config), config.ray_kwargs.ray_init.get("runtime_env", {}))
    ray.init(**OmegaConf.to_container(OmegaConf.create({**config.ray_kwargs.ray_init, "runtime_env": runtime_env})))
    try:
        per_node = [max(gpus_per_node, 1)] * nodes
        # verl's bundles fill a node with its GPUs; without GPUs, a bundle of the node's CPUs does the same
        cpus = 1 if gpus_per_node else int(min(n["Resources"].get("CPU", 1) for n in ray.nodes() if n["Alive"]))
        pool = RayResourcePool(process_on_nodes=per_node, use_gpu=gpus_per_node > 0, max_colocate_count=cpus)
        groups = pool.get_placement_groups(strategy="STRICT_PACK", device_name="cuda")

        @ray.remote(num_cpus=cpus)
        def where() -> str:
            name = os.environ.get("SLURMD_NODENAME", "")
            resources = ray.get_runtime_context().get_assigned_resources()
            return name or next((k[len(NODE_RESOURCE):] for k in resources if k.startswith(NODE_RESOURCE)), "")

        landed = ray.get([where.options(scheduling_strategy=PlacementGroupSchedulingStrategy(
            placement_group=pg, placement_group_bundle_index=0)).remote() for pg in groups])
        return {"ray_nodes": sum(1 for n in ray.nodes() if n["Alive"]), "placement_groups": len(groups),
                "nodes": sorted(landed)}
    finally:
        ray.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--gpus-per-node", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    from ..io import write_json_atomic

    result = probe(args.nodes, args.gpus_per_node)
    write_json_atomic(args.out, result)
    print(json.dumps(result), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
