# omni-thinker workflow: a table of contents. Stages live in workflow_rules/*.smk;
# each rule runs one `python -m pipeline <stage>` command, the same as dvc.yaml.
from snakemake.utils import min_version

min_version("8.0")


configfile: "params.yaml"


include: "workflow_rules/common.smk"
include: "workflow_rules/order.smk"


rule all:
    input:
        "data/order/curriculum.json",
