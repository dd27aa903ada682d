# Shared helpers of the generated rules (stages.smk): the configuration validated with the project's own
# typed loader (the same pydantic models as the CLI and DVC's params), each rule's params keys and its code
# (the import closure of its command module, computed from the stage table when the workflow is parsed).
from pipeline.config import parse_params
from pipeline.workflow.render import stage_code as _stage_code
from pipeline.workflow.stages import stage as _stage

TASKS = list(parse_params(config, source="params.yaml (Snakemake config)").tasks)
CONFIG_FILES = "params.yaml"  # what every stage command reads (--params)


def stage_code(name):
    """Python files of stage `name`: a change to any of them reruns it."""
    return _stage_code(_stage(name))


def param(key, wc):
    """The value of dotted params key `key` ({task}: the job's task); None when absent."""
    value = config
    for part in key.format(task=getattr(wc, "task", "")).split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


wildcard_constraints:
    task="|".join(TASKS),
