# omni-thinker workflow: a table of contents. Stages live in workflow_rules/*.smk;
# each rule runs one `python -m pipeline <stage>` command, the same as dvc.yaml.
from snakemake.utils import min_version

min_version("8.0")


configfile: "params.yaml"


localrules:
    all,
    order,
    report,


include: "workflow_rules/common.smk"
include: "workflow_rules/curate.smk"
include: "workflow_rules/models.smk"
include: "workflow_rules/evaluate.smk"
include: "workflow_rules/order.smk"
include: "workflow_rules/baselines.smk"
include: "workflow_rules/multitask.smk"
include: "workflow_rules/report.smk"


rule all:
    input:
        "data/report/summary.md",
