# omni-thinker workflow: a table of contents. Every rule is generated from the stage table
# (pipeline/workflow/stages.py, `python -m pipeline stages --write`), the same table as dvc.yaml.
from snakemake.utils import min_version

min_version("8.0")


configfile: "params.yaml"


include: "workflow_rules/common.smk"
include: "workflow_rules/stages.smk"


rule all:
    input:
        "data/report/summary.md",
