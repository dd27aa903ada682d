# train_curriculum (σ from `order`) and train_joint: MT-GRPO over all tasks (Section 2.3). Every task
# contributes the same prompts as in its single-task run; a curriculum segment uses its task's settings.
# The curriculum's first segment is exactly the single-task run of σ(1) (same θ0, batches, settings and
# seed): it starts from that run's final state (`--singles`) instead of training it again.


rule train_curriculum:
    input:
        base="data/models/base",
        singles=expand("data/models/single/{task}/model", task=TASKS),  # σ(1)'s run is its first segment
        order="data/order/curriculum.json",
        data=expand("data/curated/{task}/train.parquet", task=TASKS),
        code=code("pipeline/rl", "pipeline/scale", "pipeline/data/verl_export.py", "pipeline/rewards", "pipeline/models", "pipeline/commands/train.py", *COMMON_CODE),
    output:
        model=directory("data/models/curriculum/model"),
        segments=directory("data/models/curriculum/segments"),
        log="data/models/curriculum/log.jsonl",
        metrics="data/models/curriculum/metrics.json",
    params:
        backend=lambda wc: config["train"].get("backend", "local"),
        verl=lambda wc: config["train"].get("verl", {}),
        grpo=lambda wc: config["train"]["grpo"],
        overrides=lambda wc: config["train"]["overrides"],
        rewards=lambda wc: config["rewards"],
        seed=config["seed"],
    priority: 50  # the critical path (singles → transfer → order → curriculum → validation) first
    log:
        "data/logs/train_curriculum.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline train --mode curriculum --order data/order/curriculum.json --base data/models/base "
        "--singles data/models/single --out data/models/curriculum --params params.yaml > {log} 2>&1"


rule train_joint:
    input:
        base="data/models/base",
        data=expand("data/curated/{task}/train.parquet", task=TASKS),
        code=code("pipeline/rl", "pipeline/scale", "pipeline/data/verl_export.py", "pipeline/rewards", "pipeline/models", "pipeline/commands/train.py", *COMMON_CODE),
    output:
        model=directory("data/models/joint/model"),
        log="data/models/joint/log.jsonl",
        metrics="data/models/joint/metrics.json",
    params:
        backend=lambda wc: config["train"].get("backend", "local"),
        verl=lambda wc: config["train"].get("verl", {}),
        grpo=lambda wc: config["train"]["grpo"],
        overrides=lambda wc: config["train"]["overrides"],
        rewards=lambda wc: config["rewards"],
        seed=config["seed"],
    log:
        "data/logs/train_joint.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline train --mode joint --base data/models/base --out data/models/joint "
        "--params params.yaml > {log} 2>&1"
