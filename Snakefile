# omni-thinker workflow: a table of contents. Stages live in workflow_rules/*.smk;
# each rule runs one `python -m pipeline <stage>` command, the same as dvc.yaml.
from snakemake.utils import min_version

min_version("8.0")


configfile: "params.yaml"


include: "workflow_rules/common.smk"
include: "workflow_rules/curate.smk"
include: "workflow_rules/models.smk"
include: "workflow_rules/evaluate.smk"
include: "workflow_rules/order.smk"
include: "workflow_rules/baselines.smk"


rule all:
    input:
        expand("data/curated/{task}/stats.json", task=TASKS),
        "data/order/curriculum.json",
        "data/models/sft/model",
        "data/models/merged/model",
