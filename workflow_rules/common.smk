# Shared helpers of the generated rules (stages.smk). The configuration is the one the workflow was started
# with: params.yaml, then each --configfile overlay (a profile in configs/), merged by Snakemake the way the
# CLI merges `--params params.yaml OVERLAY`, then --config. It is validated with the project's own models and
# written whole to RESOLVED_PARAMS, which every stage command reads: a profile is never copied over
# params.yaml, and switching profiles reruns only the stages whose params keys (below) changed.
import os

from pipeline.catalog import check_registered
from pipeline.config import parse_params, read_params_file
from pipeline.workflow.render import RESOLVED_PARAMS, write_resolved_params
from pipeline.workflow.render import stage_code as _stage_code
from pipeline.workflow.resources import check_stage_names, stage_resources as _stage_resources
from pipeline.workflow.stages import stage as _stage

for _file in workflow.configfiles:  # duplicate keys and broken YAML: one line naming the file
    read_params_file(_file)
_SOURCE = " + ".join(["params.yaml", *(str(f) for f in workflow.configfiles if str(f) != "params.yaml")])
PARAMS = check_registered(parse_params(config, source=f"{_SOURCE} (Snakemake config)"),
                          f"{_SOURCE} (Snakemake config)")
TASKS = list(PARAMS.tasks)
SEEDS = list(PARAMS.seeds)  # one replica of every per-seed rule each (docs/seeds.md)
TRAIN_THREADS = PARAMS.train.threads  # a training rule's threads: the torch threads its stage trains on
RESOLVED = PARAMS.model_dump(mode="json", by_alias=True)  # every key, defaults filled: what the stages read
write_resolved_params(PARAMS, source=_SOURCE)
check_stage_names(PARAMS)


def stage_code(name):
    """Python files of stage `name`: a change to any of them reruns it."""
    return _stage_code(_stage(name))


def slurm_resources(name):
    """Stage `name`'s Slurm request from the validated params (nodes, GPUs as gres, CPUs, memory, time), for the
    Slurm profile; OMNI_SLURM_GPU_MODEL (a site setting) names the GPU type. Locally these are not limits."""
    return _stage_resources(_stage(name), PARAMS, os.environ.get("OMNI_SLURM_GPU_MODEL") or None)


def param(key, wc):
    """The validated value of dotted params key `key` ({task}: the job's task); None when absent. Validated,
    so a key written out in full or left to its default is the same parameter (no spurious rerun)."""
    value = RESOLVED
    for part in key.format(task=getattr(wc, "task", "")).split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


wildcard_constraints:
    task="|".join(TASKS),
    seed="|".join(str(s) for s in SEEDS),
