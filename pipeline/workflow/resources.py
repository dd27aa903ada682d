"""Each stage's Slurm request, derived from the run's params (never typed twice).

A stage's resource class (:data:`~.stages.Resources`) says which params decide whether it needs GPUs and how
many (:data:`GPU_SHAPES`): verl training spans ``train.verl.nnodes`` nodes × ``n_gpus_per_node`` GPUs; the RFT
baseline takes one such node; vLLM evaluation takes ``eval.vllm.tensor_parallel_size`` GPUs. On the CPU
backends (the embedded default, the smoke profile) the same stages are CPU jobs. CPUs, memory and time come
from ``slurm`` in params. The generated Snakemake rules read :func:`stage_resources` (``common.smk``), so the
profile holds site settings only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..config import JobRequest, Params
from ..errors import UserError
from .stages import STAGES, Stage


@dataclass(frozen=True)
class GpuShape:
    """GPUs of a stage: how many nodes, GPUs on each (0: a CPU job)."""

    nodes: int
    gpus_per_node: int


def _verl_training(params: Params) -> GpuShape:
    verl = params.train.verl
    return GpuShape(verl.nnodes, verl.n_gpus_per_node) if params.train.backend == "verl" else GpuShape(1, 0)


def _one_training_node(params: Params) -> GpuShape:
    on_gpus = params.train.backend == "verl" or params.eval.backend == "vllm"
    return GpuShape(1, params.train.verl.n_gpus_per_node if on_gpus else 0)


def _vllm_evaluation(params: Params) -> GpuShape:
    return GpuShape(1, params.eval.vllm.tensor_parallel_size if params.eval.backend == "vllm" else 0)


GPU_SHAPES: dict[str, Callable[[Params], GpuShape]] = {
    "gpu_train": _verl_training,        # train_*, validate_predictions: verl GRPO (Ray over the job's nodes)
    "gpu_node": _one_training_node,     # sft_rft: vLLM sampling and verl's SFT trainer on one node
    "gpu_eval": _vllm_evaluation,       # evaluate_*, merge_ties' checkpoint selection: vLLM generation
}


IDLE_WHEN: dict[str, Callable[[Params], bool]] = {
    "train_pairs": lambda p: not p.pairs.enabled,                            # writes empty tables
    "ablate_temperature": lambda p: not p.ablations.temperature.runs,
    "ablate_format": lambda p: p.ablations.answer_format.task is None,
}
"""Stages whose work their params switch off: they write empty tables, so they are CPU jobs then (a GPU
request would hold a whole training allocation for a job that ends at once)."""


def gpu_shape(stage: Stage, params: Params) -> GpuShape:
    if IDLE_WHEN.get(stage.name, lambda p: False)(params):
        return GpuShape(1, 0)
    shape = GPU_SHAPES.get(stage.resources)
    return shape(params) if shape else GpuShape(1, 0)


def job_request(shape: GpuShape, cpus: int, mem_gb: int, hours: float, gpu_model: str | None = None) -> dict:
    """Snakemake resources of one job (the Slurm executor's names): one task per node with ``cpus`` and
    ``mem_gb`` each; GPUs as ``--gres=gpu[:model]:n`` (per node, unlike ``--gpus``)."""
    resources: dict[str, int | str] = {"nodes": shape.nodes, "cpus_per_task": cpus, "mem_mb": mem_gb * 1024,
                                       "runtime": max(1, round(hours * 60))}
    if shape.gpus_per_node:
        model = f"{gpu_model}:" if gpu_model else ""
        resources["gres"] = f"gpu:{model}{shape.gpus_per_node}"
        resources["slurm_extra"] = "--ntasks-per-node=1"
    else:
        resources["tasks"] = shape.nodes  # one task per node (the executor adds --ntasks for CPU jobs)
    return resources


def stage_resources(stage: Stage, params: Params, gpu_model: str | None = None) -> dict:
    """The Slurm request of ``stage`` under ``params``: its GPU shape, then ``slurm``'s CPUs, memory and time for
    that shape (per GPU for a GPU job, ``cpu_job`` otherwise), then ``slurm.stages[stage]``'s changes."""
    slurm = params.slurm
    shape = gpu_shape(stage, params)
    if shape.gpus_per_node:
        base = JobRequest(cpus=slurm.cpus_per_gpu * shape.gpus_per_node,
                          mem_gb=slurm.mem_gb_per_gpu * shape.gpus_per_node,
                          hours={str(k): v for k, v in slurm.gpu_hours.items()}.get(stage.resources, 24.0))
    else:
        base = slurm.cpu_job
    change = slurm.stages.get(stage.name) or JobRequest(cpus=None, mem_gb=None, hours=None)
    pick = {k: getattr(change, k) if getattr(change, k) is not None else getattr(base, k)
            for k in ("cpus", "mem_gb", "hours")}
    return job_request(shape, pick["cpus"] or 1, pick["mem_gb"] or 4, pick["hours"] or 1.0, gpu_model)


def check_stage_names(params: Params) -> None:
    """``slurm.stages`` names only stages that run as cluster jobs (one line naming the unknown ones)."""
    jobs = [s.name for s in STAGES if s.resources != "local"]
    unknown = sorted(set(params.slurm.stages) - set(jobs))
    if unknown:
        raise UserError(f"slurm.stages: unknown stage(s) {', '.join(unknown)}; cluster stages are {', '.join(jobs)}")


def all_stage_resources(params: Params, gpu_model: str | None = None) -> dict[str, dict]:
    """Every stage's request that runs as a cluster job (``local`` stages run where Snakemake runs)."""
    check_stage_names(params)
    return {s.name: stage_resources(s, params, gpu_model) for s in STAGES if s.resources != "local"}
